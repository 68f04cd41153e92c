import { describe, expect, it } from 'vitest';
import { DeadLetterStore } from '../../processors/deadletters.js';
import { MODELS } from '../../processors/devices/index.js';
import { FAMILY_METRICS, METRICS, measurementFor } from '../../processors/metrics/catalogue.js';
import { unitConverter } from '../../processors/metrics/units.js';
import { Pipeline } from '../../processors/pipeline.js';
import { validateDevice } from '../../processors/registry/device-schema.js';
import { TopicRouter } from '../../processors/topics.js';
import type { Device, InboundMessage, Reading } from '../../processors/types.js';
import { modelIndex, T0 } from './support.js';

/** A camera as the registry stores it: validated from what an installer writes. */
function registeredCamera(id: string): Device {
  const r = validateDevice(
    {
      id,
      model: 'rtsp-camera',
      location: { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '第3网格' },
      state: 'active',
      rtsp: { url: 'rtsp://admin:pw@192.0.2.10:554/Streaming/Channels/101' },
    },
    (m) => modelIndex.get(m)?.family,
  );
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.device;
}

/** What the camera supervisor hands the pipeline. */
function rtspMessage(id: string, fields: Record<string, unknown>, receivedAt = T0): InboundMessage {
  return {
    transport: 'rtsp',
    kind: 'telemetry',
    deviceId: id,
    topic: `rtsp/${id}`,
    payload: Buffer.from(JSON.stringify(fields)),
    receivedAt,
  };
}

function setup() {
  const cam = registeredCamera('cam-1');
  const got: Reading[] = [];
  const dead = new DeadLetterStore({ clock: { now: () => T0 } });
  const pipeline = new Pipeline({
    devices: { get: (id) => (id === cam.id ? cam : undefined) },
    models: modelIndex,
    sinks: [{ write: (r) => got.push(r) }],
    rejects: dead,
    clock: { now: () => T0 },
  });
  return { pipeline, got, dead };
}

const FULL = {
  online: 1,
  fps: 25,
  bitrate_kbps: 1024.5,
  motion_pct: 3.2,
  luma_avg: 118,
  luma_std: 52.1,
  flat_pct: 12,
  sharpness_ratio: 0.97,
  scene_ssim: 0.88,
  cast_level: 4.1,
};

describe('rtsp-camera model', () => {
  it('decodes a supervisor reading into one `camera` point with every field, tagged as a camera', () => {
    const { pipeline, got } = setup();
    pipeline.handle(rtspMessage('cam-1', FULL));
    expect(pipeline.stats()).toMatchObject({ received: 1, readings: 1 });
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      device: 'cam-1',
      measurement: 'camera',
      time: T0,
      fields: FULL,
      tags: { device: 'cam-1', model: 'rtsp-camera', family: 'camera', grid: '第3网格' },
    });
  });

  it('takes the offline reading and a reading before any reference frame', () => {
    const { pipeline, got, dead } = setup();
    pipeline.handle(rtspMessage('cam-1', { online: 0 }));
    const { sharpness_ratio: _s, scene_ssim: _ssim, ...noReference } = FULL;
    pipeline.handle(rtspMessage('cam-1', noReference, T0 + 2000));
    expect(got.map((r) => [r.measurement, r.fields])).toEqual([
      ['camera', { online: 0 }],
      ['camera', noReference],
    ]);
    expect(dead.list()).toEqual([]);
  });

  it('rejects an implausible field on its own and keeps the rest', () => {
    const { pipeline, got, dead } = setup();
    pipeline.handle(rtspMessage('cam-1', { ...FULL, luma_avg: 300, scene_ssim: 'high' }));
    expect(got[0]?.fields).not.toHaveProperty('luma_avg');
    expect(got[0]?.fields).toMatchObject({ online: 1, fps: 25, luma_std: 52.1 });
    expect(dead.list().map((r) => [r.reason, r.field, r.transport, r.topic])).toEqual(
      expect.arrayContaining([
        ['out_of_range', 'luma_avg', 'rtsp', 'rtsp/cam-1'],
        ['wrong_type', 'scene_ssim', 'rtsp', 'rtsp/cam-1'],
      ]),
    );
  });

  it('adds no MQTT subscription or topic pattern: cameras are not MQTT devices', () => {
    const sensors = MODELS.filter((m) => m.family !== 'camera');
    const withCameras = new TopicRouter(MODELS);
    const without = new TopicRouter(sensors);
    expect(withCameras.subscriptionFilters().sort()).toEqual(without.subscriptionFilters().sort());
    expect(withCameras.patterns()).toEqual(without.patterns());
    expect(withCameras.subscriptionFilters().some((f) => f.startsWith('rtsp'))).toBe(false);
    expect(withCameras.match('rtsp/cam-1')).toBeUndefined();
  });

  it('declares every camera metric once, in the camera measurement, with a unit and a range', () => {
    const model = modelIndex.get('rtsp-camera');
    expect(model?.family).toBe('camera');
    expect(model?.fields.map((f) => f.metric).sort()).toEqual([...FAMILY_METRICS.camera].sort());
    for (const m of FAMILY_METRICS.camera) {
      expect(measurementFor('camera', m), m).toBe('camera');
      const [lo, hi] = METRICS[m].range;
      expect(lo, m).toBeLessThan(hi);
    }
    expect(METRICS.fps.unit).toBe('fps');
    expect(METRICS.bitrate_kbps.unit).toBe('kbps');
    expect(METRICS.luma_avg.unit).toBe('level');
    expect(METRICS.scene_ssim.unit).toBe('ratio');
    // A vendor in Mbps or a fraction converts; a frame rate is not a bit rate.
    expect(unitConverter('Mbps', 'kbps')(2.5)).toBe(2500);
    expect(unitConverter('ratio', 'pct')(0.45)).toBeCloseTo(45, 12);
    expect(() => unitConverter('fps', 'kbps')).toThrow(/cannot convert/);
    // Online of a sensor still lands in `device`.
    expect(measurementFor('flood', 'online')).toBe('device');
  });
});
