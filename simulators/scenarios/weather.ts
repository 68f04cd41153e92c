import type { Rng } from '../prng.js';
import { chinaHour, clamp } from './types.js';

/** Shared surface weather: a diurnal temperature/humidity cycle and a wandering wind. */
export interface Weather {
  sample(atMs: number): { temp_c: number; humidity_pct: number; wind_speed_ms: number; wind_dir_deg: number };
}

export function createWeather(rng: Rng): Weather {
  const meanTemp = rng.range(12, 22);
  let windDir = rng.range(0, 360);
  let wind = rng.range(1, 3);
  return {
    sample(atMs) {
      // Coolest around 05:00, warmest around 15:00 local time.
      const phase = ((chinaHour(atMs) - 9) / 24) * 2 * Math.PI;
      const temp = meanTemp + 6 * Math.sin(phase) + rng.normal(0, 0.3);
      const humidity = clamp(60 - 18 * Math.sin(phase) + rng.normal(0, 2), 5, 100);
      windDir = (windDir + rng.normal(0, 15) + 360) % 360;
      wind = clamp(wind + rng.normal(0, 0.4), 0, 15);
      return { temp_c: temp, humidity_pct: humidity, wind_speed_ms: wind, wind_dir_deg: windDir };
    },
  };
}
