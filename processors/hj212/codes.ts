import { type FieldMapping, type MetricOptions, metric } from '../devices/define.js';
import { GridgateError } from '../errors.js';
import type { MetricName } from '../metrics/catalogue.js';
import type { Unit } from '../metrics/units.js';

/**
 * HJ 212 pollutant and parameter codes (HJ 212-2017 Appendix B, 污染物/监测因子编码) and the
 * canonical metric each one becomes. One line per code: adding a code is adding a line.
 *
 * `unit` is the unit the standard (and every vendor seen) reports the code in; a model can
 * override it. `metric: null` marks codes the standard defines and devices commonly send but that
 * have no canonical metric yet (air pressure, …): the decoder ignores those quietly instead of
 * counting them as unknown.
 */
export interface CodeSpec {
  readonly metric: MetricName | null;
  readonly unit?: Unit;
  readonly description: string;
}

export const HJ212_CODES: Readonly<Record<string, CodeSpec>> = {
  a34001: { metric: 'tsp_ugm3', unit: 'ug/m3', description: '总悬浮颗粒物 TSP' },
  a34002: { metric: 'pm10_ugm3', unit: 'ug/m3', description: '可吸入颗粒物 PM10' },
  a34004: { metric: 'pm25_ugm3', unit: 'ug/m3', description: '细颗粒物 PM2.5' },
  a01001: { metric: 'temp_c', unit: 'C', description: '温度 air temperature' },
  a01002: { metric: 'humidity_pct', unit: '%', description: '湿度 relative humidity' },
  a01007: { metric: 'wind_speed_ms', unit: 'm/s', description: '风速 wind speed' },
  a01008: { metric: 'wind_dir_deg', unit: 'deg', description: '风向 wind direction' },
  LA: { metric: 'noise_dba', unit: 'dB(A)', description: '噪声 A 声级 (LA / Leq)' },
  a21026: { metric: 'so2_ugm3', unit: 'ug/m3', description: '二氧化硫 SO2' },
  a21004: { metric: 'no2_ugm3', unit: 'ug/m3', description: '二氧化氮 NO2' },
  a21005: { metric: 'co_mgm3', unit: 'mg/m3', description: '一氧化碳 CO' },
  a05024: { metric: 'o3_ugm3', unit: 'ug/m3', description: '臭氧 O3' },
  // Defined by the standard, commonly sent, no canonical metric yet.
  a01006: { metric: null, description: '气压 air pressure (kPa)' },
  a34005: { metric: null, description: 'PM1.0' },
  a21002: { metric: null, description: '氮氧化物 NOx' },
  a21003: { metric: null, description: '一氧化氮 NO' },
  a99054: { metric: null, description: 'TVOC' },
};

/**
 * Other spellings devices send for a code in the table: the HJ/T 212-2005 noise code `B03`, and the
 * noise keys `Leq` / `La` seen from dust-monitor vendors. Resolved before the model lookup, so a
 * model that maps `LA` also takes `Leq`.
 */
export const HJ212_ALIASES: Readonly<Record<string, string>> = {
  B03: 'LA',
  Leq: 'LA',
  La: 'LA',
  LAeq: 'LA',
};

export function canonicalCode(code: string): string {
  return Object.hasOwn(HJ212_ALIASES, code) ? (HJ212_ALIASES[code] as string) : code;
}

export function codeSpec(code: string): CodeSpec | undefined {
  const c = canonicalCode(code);
  return Object.hasOwn(HJ212_CODES, c) ? HJ212_CODES[c] : undefined;
}

/**
 * `metric()` for an HJ 212 code: the metric and unit come from the table, the path is the code, and
 * a model may still narrow the range or fix a vendor's scale.
 */
export function hj212Metric(code: string, opts: Omit<MetricOptions, 'path'> = {}): FieldMapping {
  const spec = codeSpec(code);
  if (!spec?.metric)
    throw new GridgateError(
      'GG_ERR_MODEL_INVALID',
      `HJ 212 code '${code}' has no canonical metric; add it to processors/hj212/codes.ts`,
    );
  return metric(spec.metric, {
    path: canonicalCode(code),
    ...(spec.unit ? { unit: spec.unit } : {}),
    ...opts,
  });
}
