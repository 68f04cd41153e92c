import type { CanonicalValues } from '../encode.js';
import type { Rng } from '../prng.js';
import { clamp, HOUR_MS } from './types.js';

/**
 * Battery and radio, common to every family: a Li-ion pack that drains slowly over scenario time
 * and a received signal strength that wanders around a per-site mean.
 */
export interface Health {
  sample(atMs: number): Pick<CanonicalValues, 'battery_v' | 'rssi_dbm'>;
}

export function createHealth(rng: Rng, startMs: number): Health {
  const startV = rng.range(3.85, 4.15);
  // 10–30 mV a day: a pack that lasts one to four months, visibly falling over a compressed demo.
  const drainVPerHour = rng.range(0.01, 0.03) / 24;
  const rssiMean = rng.range(-95, -60);
  return {
    sample(atMs) {
      const hours = Math.max(0, atMs - startMs) / HOUR_MS;
      return {
        battery_v: clamp(startV - drainVPerHour * hours + rng.normal(0, 0.005), 3.0, 4.2),
        rssi_dbm: Math.round(clamp(rssiMean + rng.normal(0, 4), -120, -40)),
      };
    },
  };
}
