import { defineModel, metric } from '../define.js';

/**
 * RiverWatch FG-2 pressure-transducer flood gauge for underpasses and culverts (4G). Nested JSON:
 * readings under `data` in metres, power and signal under `sys`, ISO 8601 time with offset.
 *
 * @example devices/{deviceId}/telemetry
 * {"time":"2026-01-01T08:00:00+08:00","data":{"level":1.234,"rain1h":2.5},"sys":{"vbat":12.1,"rssi":-71}}
 */
export default defineModel({
  id: 'riverwatch-fg2',
  vendor: 'RiverWatch',
  name: 'FG-2 submersible flood gauge',
  family: 'flood',
  format: 'json',
  time: { path: 'time', format: 'iso8601' },
  fields: [
    metric('water_level_m', { path: 'data.level', unit: 'm', range: [-5, 20] }),
    metric('rain_mm', { path: 'data.rain1h', unit: 'mm' }),
    metric('battery_v', { path: 'sys.vbat', unit: 'V' }),
    metric('rssi_dbm', { path: 'sys.rssi', unit: 'dBm' }),
  ],
  reportingIntervalS: 600,
  description: 'Pressure gauge with a 0-20 m span; nested data/sys objects, ISO 8601 timestamps.',
});
