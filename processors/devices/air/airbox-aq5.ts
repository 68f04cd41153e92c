import { defineModel, metric } from '../define.js';

/**
 * AirBox AQ5 micro air-quality station (网格化微站), electrochemical gas sensors. Flat lower-case
 * JSON, gases in µg/m3 except CO in mg/m3, and no timestamp: the gateway stamps receive time.
 *
 * @example devices/{deviceId}/telemetry
 * {"aqi":72,"pm25":35,"pm10":80,"no2":40,"so2":8,"o3":90,"co":0.8,"temp":25,"hum":60}
 */
export default defineModel({
  id: 'airbox-aq5',
  vendor: 'AirBox',
  name: 'AQ5 grid micro station',
  family: 'air',
  format: 'json',
  fields: [
    metric('aqi', { path: 'aqi' }),
    metric('pm25_ugm3', { path: 'pm25', unit: 'ugm3' }),
    metric('pm10_ugm3', { path: 'pm10', unit: 'ugm3' }),
    metric('no2_ugm3', { path: 'no2', unit: 'ugm3' }),
    metric('so2_ugm3', { path: 'so2', unit: 'ugm3' }),
    metric('o3_ugm3', { path: 'o3', unit: 'ugm3' }),
    metric('co_mgm3', { path: 'co', unit: 'mgm3' }),
    metric('temp_c', { path: 'temp', unit: 'C' }),
    metric('humidity_pct', { path: 'hum', unit: 'pct' }),
  ],
  reportingIntervalS: 300,
  description: 'Flat JSON, no device timestamp (receive time is used).',
});
