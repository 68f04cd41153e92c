import { hj212Metric } from '../../hj212/codes.js';
import { defineModel } from '../define.js';

/**
 * AirSense MS-100 air-quality micro-station (空气质量微型监测站) with HJ 212-2017 reporting: the six
 * criteria pollutants of GB 3095-2012 plus temperature and humidity. Gases in ug/m3, CO in mg/m3,
 * as HJ 212-2017 Appendix B and the national network report them.
 *
 * @example ST=22 CN=2011
 * QN=20260101080000000;ST=22;CN=2011;PW=123456;MN=MS100HJ0000000000000001;Flag=5;CP=&&DataTime=20260101080000;
 * a34004-Rtd=35,a34004-Flag=N;a34002-Rtd=80,a34002-Flag=N;a21026-Rtd=12,a21026-Flag=N;a21004-Rtd=40,a21004-Flag=N;
 * a21005-Rtd=0.8,a21005-Flag=N;a05024-Rtd=90,a05024-Flag=N;a01001-Rtd=25.1,a01001-Flag=N;a01002-Rtd=60,a01002-Flag=N&&
 */
export default defineModel({
  id: 'airsense-ms100-hj212',
  vendor: 'AirSense',
  name: 'MS-100 air-quality micro-station (HJ 212-2017)',
  family: 'air',
  format: 'hj212',
  fields: [
    hj212Metric('a34004'), // PM2.5
    hj212Metric('a34002'), // PM10
    hj212Metric('a21026'), // SO2
    hj212Metric('a21004'), // NO2
    hj212Metric('a21005'), // CO, mg/m3
    hj212Metric('a05024'), // O3
    hj212Metric('a01001'), // temperature
    hj212Metric('a01002'), // humidity
  ],
  reportingIntervalS: 60,
  description: 'HJ 212-2017 over TCP: 2011 real-time every minute, 2051 minute and 2061 hourly statistics.',
});
