import { defineModel, metric } from '../define.js';

/**
 * SinoDust YC-200 construction-site dust monitor (扬尘在线监测仪) in its MQTT/JSON firmware.
 * Flat JSON with capitalised vendor keys, SI units, wind in m/s and time as yyyyMMddHHmmss in
 * China time. Values are often quoted strings ("35.2"); the decoder accepts numeric strings.
 *
 * @example devices/{deviceId}/telemetry
 * {"DataTime":"20260101080000","PM25":35,"PM10":80,"TSP":150,"Noise":62.5,"WindSpeed":3.2,"WindDir":180,"Temp":25.1,"Humi":60}
 */
export default defineModel({
  id: 'sinodust-yc200',
  vendor: 'SinoDust',
  name: 'YC-200 dust and noise monitor',
  family: 'dust',
  format: 'json',
  time: { path: 'DataTime', format: 'local_compact' },
  fields: [
    metric('pm25_ugm3', { path: 'PM25', unit: 'ug/m3' }),
    metric('pm10_ugm3', { path: 'PM10', unit: 'ug/m3' }),
    metric('tsp_ugm3', { path: 'TSP', unit: 'ug/m3' }),
    metric('noise_dba', { path: 'Noise', unit: 'dB(A)' }),
    metric('wind_speed_ms', { path: 'WindSpeed', unit: 'm/s' }),
    metric('wind_dir_deg', { path: 'WindDir', unit: 'deg' }),
    metric('temp_c', { path: 'Temp', unit: 'C' }),
    metric('humidity_pct', { path: 'Humi', unit: '%' }),
  ],
  reportingIntervalS: 60,
  description: 'Flat JSON, SI units, China-time compact timestamps.',
});
