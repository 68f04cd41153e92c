import { defineModel, metric } from '../define.js';

/**
 * Hydrotek WL300 radar water-level gauge with tipping-bucket rain gauge, NB-IoT, solar + battery.
 * Reports every 5 minutes (every minute in flood mode) on the default topics. Flat JSON, water
 * level in millimetres above the gauge datum, rain in mm since the last report, battery in mV,
 * signal as CSQ-derived dBm, time in epoch seconds.
 *
 * @example devices/{deviceId}/telemetry
 * {"ts":1767225600,"wl":1234,"rain":0.5,"bat":3612,"rssi":-87}
 */
export default defineModel({
  id: 'hydrotek-wl300',
  vendor: 'Hydrotek',
  name: 'WL300 radar water-level gauge',
  family: 'flood',
  format: 'json',
  time: { path: 'ts', format: 'epoch_s' },
  fields: [
    metric('water_level_m', { path: 'wl', unit: 'mm' }),
    metric('rain_mm', { path: 'rain', unit: 'mm' }),
    metric('battery_v', { path: 'bat', unit: 'mV' }),
    metric('rssi_dbm', { path: 'rssi', unit: 'dBm' }),
  ],
  reportingIntervalS: 300,
  description: 'Radar level gauge; water level in mm, battery in mV, epoch-second timestamps.',
});
