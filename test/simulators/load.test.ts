import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../../processors/devices/index.js';
import { type RunningService, startMosquitto } from '../../scripts/services.js';
import { buildFleet } from '../../simulators/fleet.js';
import { runLoad } from '../../simulators/load.js';

let dir: string;
let broker: RunningService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-load-'));
  broker = await startMosquitto(dir);
});

afterAll(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('load mode', () => {
  it('publishes exactly rate × duration vendor messages at QoS 1, all of which reach a subscriber', async () => {
    const fleet = buildFleet({ devices: 20, seed: 2, models: MODELS });
    const sub = await connectAsync(broker.url, { clientId: `load-sub-${Date.now()}` });
    let received = 0;
    let parsed = 0;
    sub.on('message', (_t, p) => {
      received++;
      if (typeof JSON.parse(p.toString()) === 'object') parsed++;
    });
    await sub.subscribeAsync('#', { qos: 1 });
    try {
      const r = await runLoad({ url: broker.url, fleet, rate: 2000, durationS: 1, qos: 1, connections: 2 });
      expect(r.target).toBe(2000);
      expect(r.published).toBe(2000);
      expect(r.errors).toBe(0);
      expect(r.achievedRate).toBeGreaterThan(0);
      const deadline = Date.now() + 10_000;
      while (received < 2000 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(received).toBe(2000);
      expect(parsed).toBe(2000);
    } finally {
      await sub.endAsync();
    }
  });

  it('per-device connections at QoS 0 send the bounded count', async () => {
    const fleet = buildFleet({ devices: 30, families: ['flood', 'access'], seed: 5, models: MODELS });
    const r = await runLoad({
      url: broker.url,
      fleet,
      rate: 1500,
      durationS: 0.5,
      qos: 0,
      connections: 'per-device',
    });
    expect(r.connections).toBe(30);
    expect(r.published).toBe(750);
  });

  it('a full socket resumes the load when it drains, not at the next tick', async () => {
    // 20,000 messages (~3 MB) on one connection fill its socket many times over. The tick is ten
    // minutes: a loader that waited for it after the first full socket would not finish in this test.
    const fleet = buildFleet({ devices: 10, families: ['dust'], seed: 3, models: MODELS });
    const sub = await connectAsync(broker.url, { clientId: `load-drain-${Date.now()}` });
    let received = 0;
    sub.on('message', () => {
      received++;
    });
    await sub.subscribeAsync('#', { qos: 0 });
    try {
      const r = await runLoad({
        url: broker.url,
        fleet,
        rate: 200_000_000,
        durationS: 0.0001,
        qos: 0,
        connections: 1,
        tickMs: 600_000,
      });
      expect(r.target).toBe(20_000);
      expect(r.published).toBe(20_000);
      await expect.poll(() => received, { timeout: 10_000 }).toBe(20_000);
    } finally {
      await sub.endAsync();
    }
  });
});
