import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Hj212Server } from '../../adapters/hj212/tcp-server.js';
import { decodeHj212 } from '../../processors/decode/hj212.js';
import airModel from '../../processors/devices/air/airsense-ms100-hj212.js';
import type { DeviceModel } from '../../processors/devices/define.js';
import dustModel from '../../processors/devices/dust/sinodust-yc200-hj212.js';
import type { Rejection } from '../../processors/errors.js';
import { baseTags } from '../../processors/tags.js';
import type { Device, InboundMessage } from '../../processors/types.js';
import { runHj212Stations } from '../../simulators/hj212/station.js';
import { until } from './support.js';

const log = pino({ level: 'silent' });
let server: Hj212Server | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function device(id: string, model: DeviceModel): Device {
  return {
    id,
    model: model.id,
    family: model.family,
    location: { district: 'd', street: 's', community: 'c', grid: 'g' },
    state: 'active',
    attrs: {},
    labels: {},
    cameras: [],
  };
}

describe('simulated HJ 212 stations', () => {
  it('send valid real-time and minute frames that decode without rejects, and get every one answered', async () => {
    const messages: InboundMessage[] = [];
    const rejects: Rejection[] = [];
    const registry: Record<string, { deviceId: string; password: string }> = {
      SIMDUST01: { deviceId: 'sim-dust', password: 'p1' },
      SIMAIR01: { deviceId: 'sim-air', password: 'p2' },
    };
    server = new Hj212Server({
      host: '127.0.0.1',
      port: 0,
      lookup: (mn) => registry[mn],
      onMessage: (m) => messages.push(m),
      onReject: (r) => rejects.push(r),
      logger: log,
    });
    await server.start();
    const ac = new AbortController();
    const run = runHj212Stations({
      host: '127.0.0.1',
      port: server.port,
      stations: [
        { mn: 'SIMDUST01', password: 'p1', kind: 'dust' },
        { mn: 'SIMAIR01', password: 'p2', kind: 'air' },
      ],
      intervalMs: 40,
      minuteMs: 150,
      responseTimeoutMs: 2000,
      signal: ac.signal,
      logger: log,
    });
    await until(
      () => messages.filter((m) => m.topic.endsWith('/2051')).length >= 2 && messages.length >= 8,
      'real-time and minute frames from both stations',
    );
    ac.abort();
    const stats = await run;
    expect(rejects).toEqual([]);
    expect(stats.givenUp).toBe(0);
    expect(stats.acked).toBeGreaterThanOrEqual(messages.length - 2); // the last may be in flight at abort
    const models: Record<string, DeviceModel> = { 'sim-dust': dustModel, 'sim-air': airModel };
    const measurements = new Set<string>();
    for (const m of messages) {
      const model = models[m.deviceId]!;
      const dev = device(m.deviceId, model);
      const r = decodeHj212({ msg: m, device: dev, model, tags: baseTags(dev) });
      expect(r.rejects, m.payload.toString('latin1')).toEqual([]);
      for (const x of r.readings) measurements.add(x.measurement);
      const pm10 = r.readings.find((x) => x.measurement === 'dust')?.fields.pm10_ugm3;
      if (pm10 !== undefined) {
        expect(pm10).toBeGreaterThanOrEqual(40);
        expect(pm10).toBeLessThanOrEqual(400);
      }
    }
    expect([...measurements].sort()).toEqual(['air', 'air_agg', 'dust', 'dust_agg']);
  });

  it('resend an unanswered frame 3 times, then give it up', async () => {
    const rejects: Rejection[] = [];
    server = new Hj212Server({
      host: '127.0.0.1',
      port: 0,
      lookup: (mn) => (mn === 'SIMDUST02' ? { deviceId: 'sim-dust-2', password: 'right' } : undefined),
      onMessage: () => {},
      onReject: (r) => rejects.push(r),
      logger: log,
      maxAuthFailures: 100,
    });
    await server.start();
    const ac = new AbortController();
    const run = runHj212Stations({
      host: '127.0.0.1',
      port: server.port,
      stations: [{ mn: 'SIMDUST02', password: 'wrong', kind: 'dust' }],
      intervalMs: 60_000, // only the frame sent on connect
      responseTimeoutMs: 30,
      signal: ac.signal,
      logger: log,
    });
    await until(() => rejects.length >= 4, 'original + 3 resends refused');
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    const stats = await run;
    expect(stats).toMatchObject({ sent: 1, resent: 3, givenUp: 1, acked: 0 });
    expect(rejects).toHaveLength(4);
    expect(rejects.every((r) => r.reason === 'bad_password')).toBe(true);
  });
});
