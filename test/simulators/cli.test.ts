import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Hj212Server } from '../../adapters/hj212/tcp-server.js';
import { simulateCommand } from '../../gateway/cli/simulate.js';
import type { InboundMessage } from '../../processors/types.js';
import { type RunningService, startMosquitto } from '../../scripts/services.js';

let dir: string;
let broker: RunningService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-simcli-'));
  broker = await startMosquitto(join(dir, 'mosquitto'));
});

afterAll(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

const simulate = (...args: string[]) => simulateCommand().exitOverride().parseAsync(args, { from: 'user' });

interface Entry {
  id: string;
  model: string;
  hj212?: { mn: string; password: string };
}

describe('gridgate simulate', () => {
  it('--write-devices writes the fleet and its HJ 212 stations as a device file', async () => {
    const file = join(dir, 'devices.yaml');
    await simulate('--devices', '8', '--seed', '3', '--hj212-stations', '2', '--write-devices', file);
    const { devices } = parse(await readFile(file, 'utf8')) as { devices: Entry[] };
    expect(devices).toHaveLength(10);
    expect(devices.map((d) => d.id)).toContain('flood-0002');
    const stations = devices.filter((d) => d.hj212);
    expect(stations.map((d) => d.model).sort()).toEqual(['airsense-ms100-hj212', 'sinodust-yc200-hj212']);
    expect(stations.every((d) => d.hj212?.password === '123456')).toBe(true);
  });

  it('runs the MQTT fleet and HJ 212 stations for --duration, then stops', async () => {
    const file = join(dir, 'devices2.yaml');
    await simulate('--devices', '4', '--hj212-stations', '2', '--write-devices', file);
    const { devices } = parse(await readFile(file, 'utf8')) as { devices: Entry[] };
    const byMn = new Map(
      devices.flatMap((d) => (d.hj212 ? [[d.hj212.mn, { deviceId: d.id, password: d.hj212.password }]] : [])),
    );
    const frames: InboundMessage[] = [];
    const server = new Hj212Server({
      host: '127.0.0.1',
      port: 0,
      lookup: (mn) => byMn.get(mn),
      onMessage: (m) => frames.push(m),
      onReject: () => {},
      logger: pino({ level: 'silent' }),
    });
    await server.start();
    const watcher = await connectAsync(broker.url, { clientId: `cli-watch-${Date.now()}` });
    const topics = new Set<string>();
    watcher.on('message', (t) => topics.add(t));
    await watcher.subscribeAsync('#', { qos: 1 });
    try {
      await simulate(
        '--url',
        broker.url,
        '--devices',
        '4',
        '--speed',
        '600',
        '--duration',
        '2.5',
        '--hj212',
        `127.0.0.1:${server.port}`,
        '--hj212-stations',
        '2',
      );
    } finally {
      await watcher.endAsync();
      await server.stop();
    }
    expect(topics).toContain('devices/flood-0001/status');
    expect(topics).toContain('devices/flood-0001/telemetry');
    expect(new Set(frames.map((f) => f.deviceId))).toEqual(new Set(['dust-hj212-0001', 'air-hj212-0001']));
  });

  it('refuses an unknown family', async () => {
    await expect(
      simulate('--families', 'flood,volcano', '--write-devices', join(dir, 'x.yaml')),
    ).rejects.toThrow(/volcano/);
  });
});
