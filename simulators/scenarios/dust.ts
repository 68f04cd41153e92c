import type { Rng } from '../prng.js';
import type { Health } from './health.js';
import { type Behaviour, chinaHour, clamp, type Emission, Periodic, type SimDevice } from './types.js';
import { createWeather } from './weather.js';

/**
 * A construction site's dust monitor (扬尘): particulates and noise rise while the site works
 * (07:00–18:00 China time), with occasional severe spikes (earthworks, demolition, a truck without a
 * cover) lasting a few reports.
 */
export interface ConstructionSiteOptions {
  startMs: number;
  /** Chance per working-hours report that a severe spike begins. */
  severeSpikeChance?: number;
  workStartH?: number;
  workEndH?: number;
}

export function isWorkingHour(atMs: number, startH = 7, endH = 18): boolean {
  const h = chinaHour(atMs);
  return h >= startH && h < endH;
}

export function createConstructionSite(
  sim: SimDevice,
  rng: Rng,
  health: Health,
  opts: ConstructionSiteOptions,
): Behaviour {
  const spikeChance = opts.severeSpikeChance ?? 0.02;
  const background = rng.range(45, 85);
  const siteIntensity = rng.range(0.8, 1.4);
  const pm25Share = rng.range(0.38, 0.55);
  const tspRatio = rng.range(1.7, 2.3);
  const weather = createWeather(rng);
  const periodic = new Periodic(sim.model.reportingIntervalS * 1000, opts.startMs, rng.next());
  let spikeLeft = 0;
  let spikePm10 = 0;

  return {
    tick(from, to) {
      const out: Emission[] = [];
      for (const at of periodic.due(from, to)) {
        const working = isWorkingHour(at, opts.workStartH, opts.workEndH);
        let pm10 = background * rng.range(0.85, 1.15);
        let noise = rng.normal(52, 3);
        if (working) {
          pm10 += 140 * siteIntensity * rng.range(0.7, 1.3);
          noise = rng.normal(74, 5);
          if (spikeLeft === 0 && rng.chance(spikeChance)) {
            spikeLeft = rng.int(3, 8);
            spikePm10 = rng.range(600, 1200);
          }
        }
        if (spikeLeft > 0) {
          pm10 = Math.max(pm10, spikePm10 * rng.range(0.85, 1.1));
          noise += 6;
          spikeLeft--;
        }
        const w = weather.sample(at);
        out.push({
          kind: 'telemetry',
          at,
          values: {
            pm10_ugm3: pm10,
            pm25_ugm3: pm10 * pm25Share * rng.range(0.95, 1.05),
            tsp_ugm3: pm10 * tspRatio * rng.range(0.95, 1.05),
            noise_dba: clamp(noise, 30, 120),
            ...w,
            ...health.sample(at),
          },
        });
      }
      return out;
    },
  };
}
