import { hj212Metric } from '../../hj212/codes.js';
import { defineModel } from '../define.js';

/**
 * SinoDust YC-200 construction-site dust monitor (扬尘在线监测仪) with its HJ 212-2017 firmware,
 * reporting over TCP to the platform (or through a DTU). Codes per HJ 212-2017 Appendix B; PM in
 * ug/m3, noise as `LA` (some firmware sends `Leq`, an alias in processors/hj212/codes.ts).
 *
 * @example ST=22 (air quality) CN=2011 real-time data, Flag=5 (2017, answer required)
 * QN=20260101080000000;ST=22;CN=2011;PW=123456;MN=YC200HJ0000000000000001;Flag=5;CP=&&DataTime=20260101080000;
 * a34004-Rtd=35,a34004-Flag=N;a34002-Rtd=80,a34002-Flag=N;a34001-Rtd=150,a34001-Flag=N;LA-Rtd=62.5,LA-Flag=N;
 * a01007-Rtd=3.2,a01007-Flag=N;a01008-Rtd=180,a01008-Flag=N;a01001-Rtd=25.1,a01001-Flag=N;a01002-Rtd=60,a01002-Flag=N&&
 */
export default defineModel({
  id: 'sinodust-yc200-hj212',
  vendor: 'SinoDust',
  name: 'YC-200 dust and noise monitor (HJ 212-2017)',
  family: 'dust',
  format: 'hj212',
  fields: [
    hj212Metric('a34004'), // PM2.5
    hj212Metric('a34002'), // PM10
    hj212Metric('a34001'), // TSP
    hj212Metric('LA'), // noise, dB(A)
    hj212Metric('a01007'), // wind speed
    hj212Metric('a01008'), // wind direction
    hj212Metric('a01001'), // temperature
    hj212Metric('a01002'), // humidity
  ],
  reportingIntervalS: 60,
  description: 'HJ 212-2017 over TCP: 2011 real-time every minute, 2051 minute and 2061 hourly statistics.',
});
