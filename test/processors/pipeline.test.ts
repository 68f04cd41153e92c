import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DeadLetterStore } from '../../processors/deadletters.js';
import type { RejectReason } from '../../processors/errors.js';
import { Pipeline, type PipelineOptions } from '../../processors/pipeline.js';
import type { Device, DeviceDirectory, Reading, ReadingSink } from '../../processors/types.js';
import { device, message, modelIndex, T0 } from './support.js';

class Collect implements ReadingSink {
  readonly got: Reading[] = [];
  write(r: Reading): void {
    this.got.push(r);
  }
}

class Directory implements DeviceDirectory {
  readonly #m = new Map<string, Device>();
  constructor(devices: Device[]) {
    for (const d of devices) this.#m.set(d.id, d);
  }
  get(id: string): Device | undefined {
    return this.#m.get(id);
  }
}

const clock = {
  t: T0,
  now() {
    return this.t;
  },
};

function setup(opts: Partial<PipelineOptions> = {}) {
  const sink = new Collect();
  const dead = new DeadLetterStore({ clock });
  const devices = new Directory([
    device('wl-1', 'hydrotek-wl300'),
    device('ds-1', 'clearsite-ds7'),
    device('ac-1', 'gatekeeper-ac100'),
    device('old-1', 'hydrotek-wl300', { state: 'retired' }),
    device('ghost-1', 'nobody-nothing'),
  ]);
  const pipeline = new Pipeline({
    devices,
    models: modelIndex,
    sinks: [sink],
    rejects: dead,
    clock,
    ...opts,
  });
  return { pipeline, sink, dead };
}

function rejected(p: Pipeline): Partial<Record<RejectReason, number>> {
  return Object.fromEntries(Object.entries(p.stats().rejected).filter(([, n]) => n > 0));
}

describe('Pipeline', () => {
  it('decodes, tags and delivers readings to every sink', () => {
    const second = new Collect();
    const { pipeline, sink } = setup();
    const p2 = new Pipeline({
      devices: new Directory([device('wl-1', 'hydrotek-wl300')]),
      models: modelIndex,
      sinks: [sink, second],
      rejects: new DeadLetterStore(),
      clock,
    });
    p2.handle(message('wl-1', '{"ts":1767225600,"wl":1234,"bat":3612,"rssi":-90}'));
    expect(sink.got.map((r) => r.measurement)).toEqual(['flood', 'device']);
    expect(second.got).toEqual(sink.got);
    expect(p2.stats()).toMatchObject({ received: 1, readings: 2 });
    expect(rejected(p2)).toEqual({});
    expect(pipeline.stats().received).toBe(0);
  });

  it('rejects unknown, retired and model-less devices with reasons', () => {
    const { pipeline, sink, dead } = setup();
    pipeline.handle(message('nobody', '{"wl":1}'));
    pipeline.handle(message('old-1', '{"wl":1}'));
    pipeline.handle(message('ghost-1', '{"wl":1}'));
    expect(sink.got).toEqual([]);
    expect(rejected(pipeline)).toEqual({ unknown_device: 2, unknown_model: 1 });
    expect(dead.list().map((r) => [r.deviceId, r.reason])).toEqual([
      ['nobody', 'unknown_device'],
      ['old-1', 'unknown_device'],
      ['ghost-1', 'unknown_model'],
    ]);
    expect(dead.list()[1]?.detail).toMatch(/retired/);
    expect(dead.list()[0]).toMatchObject({ transport: 'mqtt', topic: 'devices/nobody/telemetry', at: T0 });
    expect(dead.list()[0]?.payloadPreview).toBe('{"wl":1}');
  });

  it('rejects device timestamps too far in the future or past, saying by how much', () => {
    const { pipeline, sink, dead } = setup();
    pipeline.handle(message('wl-1', `{"ts":${1767225600 + 600},"wl":1000}`));
    pipeline.handle(message('wl-1', `{"ts":${1767225600 - 8 * 86400},"wl":1000}`));
    pipeline.handle(message('wl-1', `{"ts":${1767225600 + 240},"wl":1000}`));
    pipeline.handle(message('wl-1', `{"ts":${T0},"wl":1000}`)); // ms sent where seconds are declared
    expect(sink.got).toHaveLength(1);
    expect(dead.list().map((r) => r.detail)).toEqual([
      'flood reading is 600 s in the future',
      'flood reading is 691200 s in the past',
      expect.stringMatching(/^flood reading is \d+ s in the future$/),
    ]);
    expect(rejected(pipeline)).toEqual({ bad_timestamp: 3 });
  });

  it('honours custom limits', () => {
    const { pipeline, sink } = setup({ limits: { maxPayloadBytes: 30, maxFutureSkewMs: 0, maxDepth: 1 } });
    pipeline.handle(message('wl-1', '{"wl":1000,"rain":1,"bat":3600,"rssi":-80}'));
    pipeline.handle(message('wl-1', '{"ts":1767225601,"wl":1}'));
    pipeline.handle(message('wl-1', '{"ts":1767225600,"wl":1}'));
    pipeline.handle(message('wl-1', '{"x":{"y":1},"wl":1}'));
    expect(rejected(pipeline)).toEqual({ payload_too_large: 1, bad_timestamp: 1, too_deep: 1 });
    expect(sink.got).toHaveLength(1);
  });

  it('hostile payloads leave handle() returning normally, each counted by reason', () => {
    const { pipeline, sink } = setup({ limits: { maxPayloadBytes: 2 * 1024 * 1024 } });
    const oneMbJson = JSON.stringify({ wl: 1000, junk: 'x'.repeat(1024 * 1024) });
    const cases: [string | Buffer, RejectReason | 'ok'][] = [
      [Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]), 'invalid_utf8'],
      ['\u0000\u0001garbage', 'malformed'],
      ['{"wl": NaN}', 'malformed'],
      ['{"wl": -Infinity}', 'malformed'],
      [oneMbJson, 'ok'],
      ['['.repeat(1024 * 1024), 'too_deep'],
      [`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`, 'too_deep'],
      ['{"wl":"lots"}', 'wrong_type'],
      ['{"wl":1e999}', 'wrong_type'],
      ['{"wl":123456789012345678901234567890}', 'out_of_range'],
      ['[]', 'not_an_object'],
    ];
    for (const [payload, _] of cases) expect(() => pipeline.handle(message('wl-1', payload))).not.toThrow();
    expect(rejected(pipeline)).toEqual({
      invalid_utf8: 1,
      malformed: 3,
      too_deep: 2,
      wrong_type: 2,
      out_of_range: 1,
      not_an_object: 1,
    });
    expect(sink.got).toHaveLength(1);
    expect(pipeline.stats().received).toBe(cases.length);
    // the default limit stops a 1 MB payload before it is even decoded
    const d = setup();
    d.pipeline.handle(message('wl-1', oneMbJson));
    expect(rejected(d.pipeline)).toEqual({ payload_too_large: 1 });
    expect(d.dead.list()[0]?.payloadPreview).toMatch(/…\(\+\d+ bytes\)$/);
  });

  it('a sink that throws is counted and logged; the other sinks still get the reading', async () => {
    const lines: string[] = [];
    const logger = pino(
      new Writable({
        write(c, _e, cb) {
          lines.push(String(c));
          cb();
        },
      }),
    );
    const good = new Collect();
    const bad: ReadingSink = {
      write() {
        throw new Error('disk on fire');
      },
    };
    const { pipeline } = setup({ sinks: [bad, good], logger });
    pipeline.handle(message('wl-1', '{"wl":1000}'));
    pipeline.handle(message('wl-1', '{"wl":2000}'));
    expect(good.got.map((r) => r.fields.water_level_m)).toEqual([1, 2]);
    expect(pipeline.stats()).toMatchObject({ readings: 2, sinkErrors: 2 });
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1); // throttled
    expect(lines[0]).toContain('disk on fire');
  });

  it('an unexpected error becomes a malformed reject, never an exception', () => {
    const dead = new DeadLetterStore();
    const pipeline = new Pipeline({
      devices: {
        get() {
          throw new Error('registry bug');
        },
      },
      models: modelIndex,
      sinks: [],
      rejects: dead,
      clock,
    });
    expect(() => pipeline.handle(message('wl-1', '{"wl":1}'))).not.toThrow();
    expect(dead.list()[0]).toMatchObject({
      reason: 'malformed',
      detail: expect.stringContaining('registry bug'),
    });
    expect(() => pipeline.connectivity('wl-1', true)).not.toThrow();
  });

  it('a reject sink that throws does not escape', () => {
    const { pipeline } = setup({
      rejects: {
        reject() {
          throw new Error('nope');
        },
      },
    });
    expect(() => pipeline.handle(message('nobody', 'x'))).not.toThrow();
    expect(rejected(pipeline)).toEqual({ unknown_device: 1 });
  });

  it('per-field rejects keep the good fields of the same message', () => {
    const { pipeline, sink, dead } = setup();
    pipeline.handle(message('ds-1', `{"t":${T0},"pm":{"p25":"n/a","p10":80},"env":{"tf":500}}`));
    expect(sink.got.map((r) => r.fields)).toEqual([{ pm10_ugm3: 80 }]);
    expect(dead.list().map((r) => [r.reason, r.field])).toEqual([
      ['wrong_type', 'pm25_ugm3'],
      ['out_of_range', 'temp_c'],
    ]);
  });

  it('status messages, events, and broker connectivity', () => {
    const { pipeline, sink } = setup();
    pipeline.handle(message('wl-1', 'offline', 'status'));
    pipeline.handle(message('ac-1', '{"ts":1767225600,"code":5,"door":1}', 'event'));
    pipeline.handle(message('ac-1', '{"ts":1767225600,"code":42}', 'event'));
    pipeline.connectivity('ac-1', true, T0 + 1);
    pipeline.connectivity('not-a-device', true);
    pipeline.connectivity('old-1', true);
    expect(sink.got.map((r) => [r.device, r.measurement, r.fields, r.tags.event])).toEqual([
      ['wl-1', 'device', { online: 0 }, undefined],
      ['ac-1', 'access', { count: 1 }, 'door_forced'],
      ['ac-1', 'device', { online: 1 }, undefined],
    ]);
    expect(rejected(pipeline)).toEqual({ unknown_event: 1 });
  });

  it('unroutable topics are counted as unknown_topic', () => {
    const { pipeline, dead } = setup();
    pipeline.unroutable('mqtt', 'somewhere/else', Buffer.from('hi'));
    expect(rejected(pipeline)).toEqual({ unknown_topic: 1 });
    expect(dead.list()[0]).toMatchObject({ topic: 'somewhere/else', payloadPreview: 'hi' });
  });
});

describe('Pipeline with an HJ 212 model', () => {
  it('routes hj212 models to the registered hj212 decoder', () => {
    const sink = new Collect();
    const pipeline = new Pipeline({
      devices: new Directory([device('yc-hj-1', 'sinodust-yc200-hj212')]),
      models: modelIndex,
      sinks: [sink],
      rejects: new DeadLetterStore(),
      clock,
    });
    const segment =
      'QN=20260101080000000;ST=22;CN=2011;PW=123456;MN=YC200HJ0000000000000001;Flag=5;CP=&&DataTime=20260101080000;' +
      'a34004-Rtd=35,a34004-Flag=N;a34002-Rtd=80,a34002-Flag=N&&';
    pipeline.handle({ ...message('yc-hj-1', segment), transport: 'hj212', topic: 'hj212' });
    expect(rejected(pipeline)).toEqual({});
    expect(sink.got[0]).toMatchObject({
      measurement: 'dust',
      time: T0,
      fields: { pm25_ugm3: 35, pm10_ugm3: 80 },
    });
  });
});
