import { defineModel, metric } from '../define.js';

/**
 * Jiangshui SW-10 staff-gauge replacement (ultrasonic), common on municipal drainage projects.
 * Firmware reports water level in centimetres and rain in 0.1 mm bucket tips, timestamp as
 * yyyyMMddHHmmss China time, and no battery (mains powered).
 *
 * @example devices/{deviceId}/telemetry
 * {"DataTime":"20260101080000","SW":123.4,"YL":25}
 */
export default defineModel({
  id: 'jiangshui-sw10',
  vendor: 'Jiangshui',
  name: 'SW-10 ultrasonic water-level meter',
  family: 'flood',
  format: 'json',
  time: { path: 'DataTime', format: 'local_compact' },
  fields: [
    metric('water_level_m', { path: 'SW', unit: 'cm' }),
    metric('rain_mm', { path: 'YL', unit: '0.1mm' }),
  ],
  reportingIntervalS: 300,
  description: 'Water level in cm, rain in 0.1 mm, China-time compact timestamps.',
});
