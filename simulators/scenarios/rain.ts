import type { Rng } from '../prng.js';
import type { Health } from './health.js';
import {
  type Behaviour,
  clamp,
  type Emission,
  HOUR_MS,
  MINUTE_MS,
  Periodic,
  type SimDevice,
} from './types.js';

/**
 * A rain event over a flood gauge (防汛): rainfall follows a single storm pulse, and the water level
 * answers through a linear reservoir (storage drains with time constant `tau`), so it rises with a
 * lag behind the rain, peaks after it, and recedes over hours.
 */
export interface RainEvent {
  /** Scenario time the storm starts over the city. */
  startMs: number;
  durationH: number;
  /** Peak intensity in mm/h at the storm's centre. */
  peakMmPerH: number;
}

export function defaultRainEvent(scenarioStartMs: number): RainEvent {
  return { startMs: scenarioStartMs + 15 * MINUTE_MS, durationH: 3, peakMmPerH: 45 };
}

export interface FloodGaugeOptions {
  startMs: number;
  /** No event: a dry-weather gauge with a steady level. */
  rain?: RainEvent;
}

export function createFloodGauge(
  sim: SimDevice,
  rng: Rng,
  health: Health,
  opts: FloodGaugeOptions,
): Behaviour {
  const attrs = sim.device.attrs;
  const warning = typeof attrs.warning_level_m === 'number' ? attrs.warning_level_m : 3;
  const base = Math.max(0.2, warning - rng.range(1.2, 2.0));
  // The storm crosses the city: each gauge sees it a little earlier or later, stronger or weaker.
  const lagMs = rng.range(-20, 20) * MINUTE_MS;
  const intensityFactor = rng.range(0.6, 1.4);
  // Metres of level per mm of stored runoff, and how fast the catchment drains.
  const gain = rng.range(0.03, 0.06);
  const tauH = rng.range(1.5, 3);
  const periodic = new Periodic(sim.model.reportingIntervalS * 1000, opts.startMs, rng.next());
  let storageMm = 0;
  let simulatedTo = opts.startMs;

  const intensity = (t: number): number => {
    const ev = opts.rain;
    if (!ev) return 0;
    const x = (t - ev.startMs - lagMs) / (ev.durationH * HOUR_MS);
    if (x <= 0 || x >= 1) return 0;
    return ev.peakMmPerH * intensityFactor * Math.sin(Math.PI * x) ** 2;
  };

  // Integrate rain into storage up to `t` in one-minute steps; returns the rainfall in that span.
  const advance = (t: number): number => {
    let rain = 0;
    while (simulatedTo < t) {
      const dt = Math.min(MINUTE_MS, t - simulatedTo);
      const mm = (intensity(simulatedTo + dt / 2) * dt) / HOUR_MS;
      rain += mm;
      storageMm += mm - (storageMm * dt) / (tauH * HOUR_MS);
      simulatedTo += dt;
    }
    return rain;
  };

  return {
    tick(from, to) {
      const out: Emission[] = [];
      for (const at of periodic.due(from, to)) {
        const rain = advance(at);
        // Tipping-bucket gauges count whole 0.1 mm tips.
        const rainMm = Math.max(0, Math.round(rain * rng.range(0.9, 1.1) * 10) / 10);
        const level = clamp(base + gain * storageMm + rng.normal(0, 0.004), 0, 50);
        out.push({
          kind: 'telemetry',
          at,
          values: { water_level_m: level, rain_mm: rainMm, ...health.sample(at) },
        });
      }
      return out;
    },
  };
}
