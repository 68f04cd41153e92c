import type { DeviceModel } from '../../processors/devices/define.js';
import type { MetricName } from '../../processors/metrics/catalogue.js';
import { CHINA_OFFSET_MS } from '../../processors/time.js';
import type { Rng } from '../prng.js';

/**
 * Plausible canonical values for an HJ 212 dust or air station at a given time, and their
 * conversion to the codes and units the model's vendor sends.
 */

export type StationKind = 'dust' | 'air';

function chinaHour(atMs: number): number {
  const d = new Date(atMs + CHINA_OFFSET_MS);
  return d.getUTCHours() + d.getUTCMinutes() / 60;
}

/** 1 during site working hours (08:00–18:00 China time), ramping over half an hour at each end. */
function workingHours(h: number): number {
  if (h < 7.5 || h > 18.5) return 0;
  if (h < 8) return (h - 7.5) * 2;
  if (h > 18) return (18.5 - h) * 2;
  return 1;
}

/** 0 at night, 1 at 14:00: drives temperature and ozone. */
function sun(h: number): number {
  return Math.max(0, Math.sin(((h - 6) / 16) * Math.PI));
}

export function sampleCanonical(
  kind: StationKind,
  atMs: number,
  rng: Rng,
): Partial<Record<MetricName, number>> {
  const h = chinaHour(atMs);
  const temp = 12 + 10 * sun(h) + rng.normal(0, 0.5);
  const humidity = clamp(75 - 30 * sun(h) + rng.normal(0, 3), 15, 99);
  if (kind === 'dust') {
    // PM10 ~60–120 ug/m3 at night, up to ~300 when earthworks run (the working-hours bump).
    const pm10 = clamp(80 + 180 * workingHours(h) + rng.normal(0, 20), 40, 400);
    return {
      pm10_ugm3: pm10,
      pm25_ugm3: pm10 * rng.range(0.4, 0.55),
      tsp_ugm3: pm10 * rng.range(1.5, 1.9),
      noise_dba: clamp(52 + 25 * workingHours(h) + rng.normal(0, 3), 45, 90),
      wind_speed_ms: clamp(rng.normal(2.5, 1.2), 0, 12),
      wind_dir_deg: rng.range(0, 360),
      temp_c: temp,
      humidity_pct: humidity,
    };
  }
  const traffic = Math.exp(-((h - 8) ** 2) / 2) + Math.exp(-((h - 18) ** 2) / 3);
  const pm25 = clamp(35 + 40 * traffic + rng.normal(0, 8), 5, 300);
  return {
    pm25_ugm3: pm25,
    pm10_ugm3: pm25 * rng.range(1.4, 1.9),
    so2_ugm3: clamp(10 + 8 * traffic + rng.normal(0, 2), 2, 100),
    no2_ugm3: clamp(25 + 45 * traffic + rng.normal(0, 5), 5, 200),
    co_mgm3: clamp(0.5 + 0.8 * traffic + rng.normal(0, 0.1), 0.1, 5),
    o3_ugm3: clamp(25 + 140 * sun(h) ** 2 + rng.normal(0, 8), 5, 300),
    temp_c: temp,
    humidity_pct: humidity,
  };
}

/** code -> vendor value, for every field of the model that the sample has. */
export function toVendorCodes(
  model: DeviceModel,
  canonical: Partial<Record<MetricName, number>>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of model.fields) {
    const v = canonical[f.metric];
    if (v === undefined) continue;
    const raw = f.toVendor(v);
    out.set(f.path.join('.'), f.metric === 'co_mgm3' ? round(raw, 2) : round(raw, 1));
  }
  return out;
}

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
