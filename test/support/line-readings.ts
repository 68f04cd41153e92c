import type { Reading } from '../../processors/types.js';

const tags = {
  device: 'fg-1',
  district: '鼓楼区',
  street: '中山 路',
  community: '湖滨,社区',
  grid: 'G=07',
  empty: '',
};
/** Readings of every awkward kind for the line-protocol encoders: escapes, CJK, int fields, NaN, -0, huge and tiny numbers, changed tags. */
export const READINGS: Reading[] = [
  {
    device: 'fg-1',
    measurement: 'flood',
    time: 1_764_000_000_123,
    fields: { water_level_m: 1.25, rain_mm: 0 },
    tags,
  },
  {
    device: 'fg-1',
    measurement: 'device',
    time: 1_764_000_000_123.6,
    fields: { battery_v: 3.9, rssi_dbm: -71 },
    tags,
  },
  {
    device: 'ac-1',
    measurement: 'access',
    time: 1,
    fields: { count: 1.4 },
    tags: { event: 'door_forced', door: '东门' },
  },
  {
    device: 'dm-1',
    measurement: 'we ird,m' as Reading['measurement'],
    time: 1_764_000_000_000,
    fields: {
      'odd key=1': 1e21,
      tiny: 5e-324,
      neg: -0,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      big: 2 ** 53,
    },
    tags: {},
  },
  { device: 'dm-1', measurement: 'dust', time: 2, fields: { nan: Number.NaN }, tags: {} },
  // The same device with other tags afterwards: the cached prefix must follow.
  {
    device: 'fg-1',
    measurement: 'flood',
    time: 3,
    fields: { water_level_m: 0.1 + 0.2 },
    tags: { device: 'fg-1' },
  },
];
