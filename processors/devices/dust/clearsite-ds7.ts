import { defineModel, metric } from '../define.js';

/**
 * ClearSite DS7 dust monitor, an export model with imperial-leaning firmware: particulates grouped
 * under `pm` (TSP in mg/m3), weather under `env` with wind in km/h and temperature in °F, signal
 * strength at top level, time in epoch milliseconds.
 *
 * @example devices/{deviceId}/telemetry
 * {"t":1767225600000,"pm":{"p25":35,"p10":80,"tsp":0.15},"env":{"db":62.5,"ws":11.52,"wd":180,"tf":77,"rh":60},"rssi":-80}
 */
export default defineModel({
  id: 'clearsite-ds7',
  vendor: 'ClearSite',
  name: 'DS7 particulate and weather monitor',
  family: 'dust',
  format: 'json',
  time: { path: 't', format: 'epoch_ms' },
  fields: [
    metric('pm25_ugm3', { path: 'pm.p25', unit: 'ugm3' }),
    metric('pm10_ugm3', { path: 'pm.p10', unit: 'ugm3' }),
    metric('tsp_ugm3', { path: 'pm.tsp', unit: 'mg/m3' }),
    metric('noise_dba', { path: 'env.db', unit: 'dBA' }),
    metric('wind_speed_ms', { path: 'env.ws', unit: 'km/h' }),
    metric('wind_dir_deg', { path: 'env.wd', unit: 'deg' }),
    metric('temp_c', { path: 'env.tf', unit: 'degF' }),
    metric('humidity_pct', { path: 'env.rh', unit: 'pct' }),
    metric('rssi_dbm', { path: 'rssi', unit: 'dBm' }),
  ],
  reportingIntervalS: 60,
  description: 'Nested pm/env objects, TSP in mg/m3, wind km/h, temperature degF, epoch-ms timestamps.',
});
