import { defineModel, metric } from '../define.js';

/**
 * EcoAir M8 roadside air-quality monitor. Values under `values` with upper-case pollutant keys,
 * every gas (CO included) in µg/m3, temperature in kelvin, humidity in per-mille, supply voltage in
 * mV under `power`, ISO 8601 UTC timestamps.
 *
 * @example devices/{deviceId}/telemetry
 * {"ts":"2026-01-01T00:00:00Z","values":{"AQI":72,"PM2_5":35,"PM10":80,"NO2":40,"SO2":8,"O3":90,"CO":800,"T":298.15,"RH":600},"power":{"mv":12100}}
 */
export default defineModel({
  id: 'ecoair-m8',
  vendor: 'EcoAir',
  name: 'M8 roadside air monitor',
  family: 'air',
  format: 'json',
  time: { path: 'ts', format: 'iso8601' },
  fields: [
    metric('aqi', { path: 'values.AQI' }),
    metric('pm25_ugm3', { path: 'values.PM2_5', unit: 'ugm3' }),
    metric('pm10_ugm3', { path: 'values.PM10', unit: 'ugm3' }),
    metric('no2_ugm3', { path: 'values.NO2', unit: 'ugm3' }),
    metric('so2_ugm3', { path: 'values.SO2', unit: 'ugm3' }),
    metric('o3_ugm3', { path: 'values.O3', unit: 'ugm3' }),
    metric('co_mgm3', { path: 'values.CO', unit: 'ugm3' }),
    metric('temp_c', { path: 'values.T', unit: 'K' }),
    metric('humidity_pct', { path: 'values.RH', unit: 'permille' }),
    metric('battery_v', { path: 'power.mv', unit: 'mV' }),
  ],
  reportingIntervalS: 60,
  description: 'Nested values, CO in ug/m3, temperature in K, humidity in permille, ISO 8601 UTC.',
});
