import type { Rng } from '../prng.js';
import { aqi } from './aqi.js';
import type { Health } from './health.js';
import { type Behaviour, chinaHour, type Emission, Periodic, type SimDevice } from './types.js';
import { createWeather } from './weather.js';

/**
 * An air-quality station (环境): traffic pollutants (NO2, CO, particulates) peak at the morning and
 * evening rush and thin out in the afternoon when the boundary layer mixes; ozone peaks mid-afternoon
 * with sunlight. AQI is computed from the station's own values (HJ 633-2012).
 */
export interface AirStationOptions {
  startMs: number;
}

/** Two rush-hour bumps (08:00, 19:00) on a floor, 0–1. */
export function trafficProfile(hour: number): number {
  const bump = (centre: number, width: number) => Math.exp(-(((hour - centre) / width) ** 2));
  return 0.35 + 0.65 * Math.max(bump(8, 1.8), bump(19, 2.2));
}

/** Sunlight-driven ozone, 0–1, peaking at 15:00. */
export function sunProfile(hour: number): number {
  return Math.max(0, Math.sin(((hour - 6) / 14) * Math.PI)) ** 1.5;
}

export function createAirStation(
  sim: SimDevice,
  rng: Rng,
  health: Health,
  opts: AirStationOptions,
): Behaviour {
  const pollution = rng.range(0.6, 1.6);
  const weather = createWeather(rng);
  const periodic = new Periodic(sim.model.reportingIntervalS * 1000, opts.startMs, rng.next());
  return {
    tick(from, to) {
      const out: Emission[] = [];
      for (const at of periodic.due(from, to)) {
        const h = chinaHour(at);
        const traffic = trafficProfile(h) * pollution;
        const jitter = () => rng.range(0.9, 1.1);
        const pm25 = 55 * traffic * jitter();
        const c = {
          pm25_ugm3: pm25,
          pm10_ugm3: pm25 * rng.range(1.5, 1.9),
          no2_ugm3: 60 * traffic * jitter(),
          so2_ugm3: 12 * pollution * jitter(),
          co_mgm3: 0.9 * traffic * jitter(),
          o3_ugm3: 20 + 150 * sunProfile(h) * jitter(),
        };
        out.push({
          kind: 'telemetry',
          at,
          values: { ...c, aqi: aqi(c), ...weather.sample(at), ...health.sample(at) },
        });
      }
      return out;
    },
  };
}
