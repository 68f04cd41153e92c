import type { Family, Measurement } from '../types.js';
import type { CanonicalUnit } from './units.js';

/**
 * Every canonical metric, declared once: its unit, its physical range and its line-protocol type.
 * Decoders (via `metric()`) and the time-series schema both read this table, so they cannot drift.
 */
export interface MetricSpec {
  unit: CanonicalUnit;
  /** Inclusive physically plausible range; a value outside is rejected as out_of_range. */
  range: readonly [number, number];
  type: 'float' | 'int';
  description: string;
}

export const METRICS = {
  // flood (防汛): water level above the gauge datum, rainfall since the previous report
  water_level_m: {
    unit: 'm',
    range: [-20, 200],
    type: 'float',
    description: 'water level above gauge datum',
  },
  rain_mm: { unit: 'mm', range: [0, 500], type: 'float', description: 'rainfall since previous report' },
  // dust (扬尘) and air (环境)
  pm25_ugm3: { unit: 'ugm3', range: [0, 2000], type: 'float', description: 'PM2.5 mass concentration' },
  pm10_ugm3: { unit: 'ugm3', range: [0, 5000], type: 'float', description: 'PM10 mass concentration' },
  tsp_ugm3: { unit: 'ugm3', range: [0, 20000], type: 'float', description: 'total suspended particulates' },
  noise_dba: { unit: 'dBA', range: [0, 150], type: 'float', description: 'A-weighted sound level' },
  wind_speed_ms: { unit: 'ms', range: [0, 75], type: 'float', description: 'wind speed' },
  wind_dir_deg: {
    unit: 'deg',
    range: [0, 360],
    type: 'float',
    description: 'wind direction, from north, clockwise',
  },
  temp_c: { unit: 'C', range: [-60, 70], type: 'float', description: 'air temperature' },
  humidity_pct: { unit: 'pct', range: [0, 100], type: 'float', description: 'relative humidity' },
  aqi: { unit: 'index', range: [0, 1000], type: 'float', description: 'air quality index (HJ 633-2012)' },
  no2_ugm3: { unit: 'ugm3', range: [0, 5000], type: 'float', description: 'nitrogen dioxide' },
  so2_ugm3: { unit: 'ugm3', range: [0, 10000], type: 'float', description: 'sulphur dioxide' },
  o3_ugm3: { unit: 'ugm3', range: [0, 2000], type: 'float', description: 'ozone' },
  co_mgm3: { unit: 'mgm3', range: [0, 200], type: 'float', description: 'carbon monoxide' },
  // device health, any family
  online: { unit: 'bool', range: [0, 1], type: 'float', description: '1 when the device is connected' },
  battery_v: { unit: 'V', range: [0, 60], type: 'float', description: 'supply / battery voltage' },
  rssi_dbm: { unit: 'dBm', range: [-150, 0], type: 'float', description: 'received signal strength' },
  // camera (measurement `camera`): measured by the gateway on the camera's stream (adapters/rtsp/)
  fps: { unit: 'fps', range: [0, 240], type: 'float', description: 'frames per second received' },
  bitrate_kbps: {
    unit: 'kbps',
    range: [0, 1_000_000],
    type: 'float',
    description: 'stream bit rate received',
  },
  motion_pct: {
    unit: 'pct',
    range: [0, 100],
    type: 'float',
    description: 'share of the picture changed since the previous analysed keyframe (frozen: ~0)',
  },
  luma_avg: {
    unit: 'level',
    range: [0, 255],
    type: 'float',
    description: 'mean brightness, 8-bit luma (black screen ~16, over-exposed > 220)',
  },
  luma_std: {
    // The standard deviation of values in [0, 255] is at most 127.5.
    unit: 'level',
    range: [0, 128],
    type: 'float',
    description: 'brightness standard deviation (contrast; black or covered ~0)',
  },
  flat_pct: {
    unit: 'pct',
    range: [0, 100],
    type: 'float',
    description: 'share of picture blocks without texture (lens covered or sprayed)',
  },
  sharpness_ratio: {
    // Above 1 when the picture is sharper (or noisier) than the reference frame.
    unit: 'ratio',
    range: [0, 100],
    type: 'float',
    description: 'edge strength now / edge strength of the reference frame (blurred < 0.5)',
  },
  scene_ssim: {
    // SSIM is defined on [-1, 1]; natural pictures stay in [0, 1].
    unit: 'ratio',
    range: [-1, 1],
    type: 'float',
    description: 'structural similarity to the reference frame (camera turned away: low)',
  },
  cast_level: {
    // sqrt(2 * 128^2) = 181.02 is the farthest an 8-bit (U, V) mean can be from neutral grey.
    unit: 'level',
    range: [0, 182],
    type: 'float',
    description: 'chroma offset of the picture from neutral grey, sqrt((U-128)^2+(V-128)^2) of the means',
  },
  // access control: one point per event
  count: { unit: 'count', range: [1, 1], type: 'int', description: 'one per access event' },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(METRICS, name);
}

/** Which metrics each family's own measurement holds; anything else a device reports goes to `device`. */
export const FAMILY_METRICS: Record<Family, readonly MetricName[]> = {
  flood: ['water_level_m', 'rain_mm', 'battery_v'],
  dust: [
    'pm25_ugm3',
    'pm10_ugm3',
    'tsp_ugm3',
    'noise_dba',
    'wind_speed_ms',
    'wind_dir_deg',
    'temp_c',
    'humidity_pct',
  ],
  air: [
    'aqi',
    'pm25_ugm3',
    'pm10_ugm3',
    'no2_ugm3',
    'so2_ugm3',
    'o3_ugm3',
    'co_mgm3',
    'temp_c',
    'humidity_pct',
  ],
  access: ['count'],
  // `online` too: a camera's reading is one point, and rules read its health beside its picture.
  camera: [
    'online',
    'fps',
    'bitrate_kbps',
    'motion_pct',
    'luma_avg',
    'luma_std',
    'flat_pct',
    'sharpness_ratio',
    'scene_ssim',
    'cast_level',
  ],
};

export const DEVICE_METRICS: readonly MetricName[] = ['online', 'battery_v', 'rssi_dbm'];

export function measurementFor(family: Family, metric: MetricName): Measurement {
  return FAMILY_METRICS[family].includes(metric) ? family : 'device';
}

/** Canonical access events (tag `event` of measurement `access`). */
export const ACCESS_EVENTS = [
  'granted',
  'denied',
  'door_open',
  'door_closed',
  'door_forced',
  'door_held',
  'tamper',
] as const;
export type AccessEvent = (typeof ACCESS_EVENTS)[number];
export const ACCESS_METHODS = ['card', 'face', 'qr', 'pin'] as const;
export type AccessMethod = (typeof ACCESS_METHODS)[number];
