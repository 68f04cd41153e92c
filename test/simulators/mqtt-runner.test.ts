import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../../processors/devices/index.js';
import { type RunningService, startMosquitto } from '../../scripts/services.js';
import { topicFor } from '../../simulators/encode.js';
import { buildFleet } from '../../simulators/fleet.js';
import { MqttFleetRunner } from '../../simulators/mqtt-runner.js';
import type { Behaviour } from '../../simulators/scenarios/types.js';
import { simDevice } from './support.js';

let dir: string;
let broker: RunningService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-sim-'));
  broker = await startMosquitto(dir);
});

afterAll(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The real mosquitto_sub, printing `topic payload` lines. It prints nothing when its subscription is
 * acknowledged, so readiness is proven by a probe message making the round trip.
 */
async function mosquittoSub(
  url: string,
  port: number,
  topic: string,
): Promise<{ proc: ChildProcess; lines: string[] }> {
  const proc = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-v', '-q', '1']);
  const lines: string[] = [];
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  const probe = await connectAsync(url, { clientId: `probe-${Date.now()}` });
  try {
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.startsWith('probe/ready')) && Date.now() < deadline) {
      await probe.publishAsync('probe/ready', 'x');
      await sleep(100);
    }
  } finally {
    await probe.endAsync();
  }
  return { proc, lines };
}

describe('MqttFleetRunner against mosquitto', () => {
  it("publishes every model's vendor payloads on the model's topics, and online status per device", async () => {
    const fleet = buildFleet({ devices: 12, seed: 4, models: MODELS });
    const sub = await mosquittoSub(broker.url, broker.port, '#');
    const runner = new MqttFleetRunner({ url: broker.url, fleet, speed: 3600, qos: 1, tickMs: 50, seed: 4 });
    try {
      await runner.start();
      await sleep(2000);
    } finally {
      await runner.stop();
    }
    await sleep(300);
    sub.proc.kill();
    const got = new Map<string, string[]>();
    for (const l of sub.lines) {
      const i = l.indexOf(' ');
      if (i < 0) continue;
      const topic = l.slice(0, i);
      got.set(topic, [...(got.get(topic) ?? []), l.slice(i + 1)]);
    }
    expect(runner.stats.errors).toBe(0);
    expect(runner.stats.published).toBeGreaterThan(fleet.length);
    expect(new Set(fleet.map((s) => s.model.id)).size).toBe(9);
    for (const { device, model } of fleet) {
      expect(got.get(topicFor(model, 'status', device.id))?.[0], device.id).toBe('online');
      const kind = device.family === 'access' ? 'event' : 'telemetry';
      const payloads = got.get(topicFor(model, kind, device.id)) ?? [];
      expect(payloads.length, `${device.id} on ${topicFor(model, kind, device.id)}`).toBeGreaterThan(0);
      const first = JSON.parse(payloads[0] as string) as Record<string, unknown>;
      if (kind === 'telemetry') {
        for (const f of model.fields) expect(Object.keys(first), `${model.id}`).toContain(f.path[0]);
      } else {
        expect(Object.keys(first)).toContain(model.event?.path.split('.')[0]);
      }
      if (model.time) expect(Object.keys(first)).toContain(model.time.path.split('.')[0]);
    }
  });

  it('drops the connection abruptly on an outage, so the broker publishes the last will, then comes back', async () => {
    const sim = simDevice('flood-9001', 'flood');
    let fired = false;
    const behaviour: Behaviour = {
      tick(_from, to) {
        if (fired) return [];
        fired = true;
        return [{ kind: 'offline', at: to, untilMs: to + 800 }];
      },
    };
    const statusTopic = topicFor(sim.model, 'status', sim.device.id);
    const watcher = await connectAsync(broker.url, { clientId: `watch-${Date.now()}` });
    const seen: string[] = [];
    watcher.on('message', (t, p) => {
      if (t === statusTopic) seen.push(p.toString());
    });
    await watcher.subscribeAsync(statusTopic, { qos: 1 });
    const runner = new MqttFleetRunner({
      url: broker.url,
      fleet: [sim],
      speed: 1,
      tickMs: 50,
      qos: 1,
      behaviourFor: () => behaviour,
    });
    try {
      await runner.start();
      const deadline = Date.now() + 5000;
      while (seen.length < 3 && Date.now() < deadline) await sleep(50);
    } finally {
      await runner.stop();
      await watcher.endAsync();
    }
    expect(seen.slice(0, 3)).toEqual(['online', 'offline', 'online']);
    expect(runner.stats.outages).toBe(1);
  });

  it('shared mode publishes for every device over a few connections and announces outages itself', async () => {
    const fleet = [
      simDevice('flood-8001', 'flood'),
      simDevice('flood-8002', 'flood'),
      simDevice('flood-8003', 'flood'),
    ];
    const watcher = await connectAsync(broker.url, { clientId: `watch-shared-${Date.now()}` });
    const seen: string[] = [];
    watcher.on('message', (t, p) => seen.push(`${t} ${p.toString().slice(0, 20)}`));
    await watcher.subscribeAsync('devices/+/status', { qos: 1 });
    await watcher.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const runner = new MqttFleetRunner({
      url: broker.url,
      fleet,
      speed: 3600,
      tickMs: 50,
      qos: 1,
      connection: 'shared',
      sharedConnections: 2,
      behaviourFor: (sim) => {
        let n = 0;
        return {
          tick(_from, to) {
            n++;
            if (sim.device.id === 'flood-8003' && n === 2)
              return [{ kind: 'offline', at: to, untilMs: to + 3_600_000 }];
            return n === 1 ? [{ kind: 'telemetry', at: to, values: { water_level_m: 1.5 } }] : [];
          },
        };
      },
    });
    try {
      await runner.start();
      const deadline = Date.now() + 5000;
      while (!seen.includes('devices/flood-8003/status offline') && Date.now() < deadline) await sleep(50);
      await sleep(200);
    } finally {
      await runner.stop();
      await watcher.endAsync();
    }
    expect(runner.stats.connected).toBe(0);
    for (const id of ['flood-8001', 'flood-8002', 'flood-8003']) {
      expect(seen).toContain(`devices/${id}/status online`);
      expect(seen.some((s) => s.startsWith(`devices/${id}/telemetry {`))).toBe(true);
    }
    expect(seen).toContain('devices/flood-8003/status offline');
    expect(seen.filter((s) => s.endsWith('offline'))).toHaveLength(1);
  });
});
