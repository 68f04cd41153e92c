import { defineModel, metric } from '../define.js';

/**
 * Any RTSP/ONVIF network camera (H.264/H.265 over RTSP, RFC 2326/7826). The camera sends nothing
 * itself: the gateway's supervisor (adapters/rtsp/) pulls its sub-stream, measures it and hands the
 * pipeline one JSON object per stats interval (cameras.statsIntervalS, default 2 s) with transport
 * `rtsp` and topic `rtsp/<id>`; so one model fits every vendor, and the field names are already
 * canonical. No device timestamp: the supervisor's reading time is the receive time.
 *
 * No MQTT topic is subscribed for it: the topics below are the defaults every model shares, so the
 * router and the broker's subscriptions are the same with or without cameras.
 *
 * @example rtsp/{deviceId} (picture measures of the newest analysed keyframe)
 * {"online":1,"fps":25,"bitrate_kbps":1024,"motion_pct":3.2,"luma_avg":118,"luma_std":52,
 *  "flat_pct":12,"sharpness_ratio":0.97,"scene_ssim":0.88,"cast_level":4.1}
 * @example rtsp/{deviceId} (camera unreachable or stalled)
 * {"online":0}
 */
export default defineModel({
  id: 'rtsp-camera',
  vendor: 'Generic',
  name: 'RTSP/ONVIF network camera',
  family: 'camera',
  format: 'json',
  fields: [
    metric('online', { path: 'online' }),
    metric('fps', { path: 'fps' }),
    metric('bitrate_kbps', { path: 'bitrate_kbps' }),
    metric('motion_pct', { path: 'motion_pct' }),
    metric('luma_avg', { path: 'luma_avg' }),
    metric('luma_std', { path: 'luma_std' }),
    metric('flat_pct', { path: 'flat_pct' }),
    metric('sharpness_ratio', { path: 'sharpness_ratio' }),
    metric('scene_ssim', { path: 'scene_ssim' }),
    metric('cast_level', { path: 'cast_level' }),
  ],
  // The supervisor's default stats interval; the `camera.*` rules' `for` durations assume it.
  reportingIntervalS: 2,
  description:
    'Measured by the gateway on the RTSP stream: liveness, frame rate, bit rate and picture diagnosis.',
});
