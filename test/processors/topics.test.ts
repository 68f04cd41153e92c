import { describe, expect, it } from 'vitest';
import { defineModel, metric } from '../../processors/devices/define.js';
import { MODELS } from '../../processors/devices/index.js';
import { isValidDeviceId, TopicRouter, topicsFor } from '../../processors/topics.js';
import { modelIndex } from './support.js';

const router = new TopicRouter(MODELS);

describe('TopicRouter', () => {
  it('matches the default patterns', () => {
    expect(router.match('devices/wl-0001/telemetry')).toEqual({ deviceId: 'wl-0001', kind: 'telemetry' });
    expect(router.match('devices/ac:01.02_x/event')).toEqual({ deviceId: 'ac:01.02_x', kind: 'event' });
    expect(router.match('devices/wl-0001/status')).toEqual({ deviceId: 'wl-0001', kind: 'status' });
  });

  it("matches a model's own topic tree", () => {
    expect(router.match('facepass/fp-9/record')).toEqual({ deviceId: 'fp-9', kind: 'event' });
    expect(router.match('facepass/fp-9/heartbeat')).toEqual({ deviceId: 'fp-9', kind: 'telemetry' });
    expect(router.match('facepass/fp-9/lwt')).toEqual({ deviceId: 'fp-9', kind: 'status' });
  });

  it.each([
    'devices/wl-0001/other',
    'devices/wl-0001',
    'devices/wl-0001/telemetry/extra',
    'devices//telemetry',
    '/devices/x/telemetry',
    'devices/x/telemetry/',
    'devices/bad id/telemetry',
    'devices/中文/telemetry',
    `devices/${'a'.repeat(65)}/telemetry`,
    'devices/+/telemetry',
    '',
    'facepass/x/telemetry',
  ])('rejects %j', (topic) => {
    expect(router.match(topic)).toBeUndefined();
  });

  it('accepts a 64-character device id', () => {
    expect(router.match(`devices/${'a'.repeat(64)}/event`)?.deviceId).toHaveLength(64);
  });

  it('subscription filters cover every pattern', () => {
    expect(router.subscriptionFilters().sort()).toEqual(['devices/+/+', 'facepass/+/+']);
    const one = defineModel({
      id: 'acme-x1',
      vendor: 'Acme',
      name: 'X1',
      family: 'flood',
      format: 'json',
      topics: { telemetry: 'acme/up/{deviceId}' },
      fields: [metric('water_level_m', { path: 'wl' })],
      reportingIntervalS: 60,
    });
    expect(new TopicRouter([one]).subscriptionFilters().sort()).toEqual(['acme/up/+', 'devices/+/+']);
    expect(new TopicRouter([one]).match('acme/up/d1')).toEqual({ deviceId: 'd1', kind: 'telemetry' });
  });

  it('refuses one pattern used for two kinds', () => {
    const base = {
      vendor: 'Acme',
      name: 'X',
      family: 'flood' as const,
      format: 'json' as const,
      fields: [metric('water_level_m', { path: 'wl' })],
      reportingIntervalS: 60,
    };
    const a = defineModel({ ...base, id: 'acme-a', topics: { telemetry: 'acme/{deviceId}/data' } });
    const b = defineModel({ ...base, id: 'acme-b', topics: { event: 'acme/{deviceId}/data' } });
    expect(() => new TopicRouter([a, b])).toThrow(/used for two kinds/);
  });

  it('topicsFor names the concrete topics of a device', () => {
    const fp = modelIndex.get('facepass-fp3');
    const wl = modelIndex.get('hydrotek-wl300');
    if (!fp || !wl) throw new Error('models missing');
    expect(topicsFor(wl, 'wl-1')).toEqual({
      telemetry: 'devices/wl-1/telemetry',
      event: 'devices/wl-1/event',
      status: 'devices/wl-1/status',
    });
    expect(topicsFor(fp, 'fp-1').event).toBe('facepass/fp-1/record');
    expect(() => topicsFor(wl, 'a/b')).toThrow(/not a valid topic level/);
  });

  it('isValidDeviceId', () => {
    expect(isValidDeviceId('A-z_0.9:x')).toBe(true);
    for (const bad of ['', 'a b', 'a/b', 'a+b', 'a#', 'é', 'x'.repeat(65)])
      expect(isValidDeviceId(bad)).toBe(false);
  });
});
