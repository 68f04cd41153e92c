import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SnapshotStore } from '../../adapters/rtsp/snapshot-store.js';
import { loadConfig } from '../../config/load.js';
import { Alerting } from '../../gateway/alerting.js';
import { type AlertEvent, createAlertConsumer } from '../../gateway/consumer.js';
import { camerasForEvent } from '../../processors/alerts/evidence.js';
import { CameraIndex } from '../../processors/registry/camera.js';
import type { Device } from '../../processors/types.js';
import { obliterate } from '../dispatch/support.js';
import { testJpeg } from './jpeg-fixture.js';

const quiet = pino({ level: 'silent' });
const redisUrl = inject('redisUrl');
const run = randomUUID().slice(0, 8);
const queue = `evidence-${run}`;
const LOCATION = { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '网格-07' };

const jpeg = testJpeg();

function door(id: string, cameras: string[]): Device {
  return {
    id,
    model: 'gatekeeper-ac100',
    family: 'access',
    location: LOCATION,
    state: 'active',
    attrs: {},
    labels: {},
    cameras,
  };
}

/**
 * The wiring in gateway/alerting.ts: rule engine -> evidence sink -> BullMQ, with the real snapshot
 * store on disk and a real consumer validating each job against gridgate.alert/v1.
 */
describe('snapshot evidence through Alerting to the BullMQ consumer', () => {
  let base: string;
  let redis: Redis;
  let alerting: Alerting;
  let store: SnapshotStore;
  let consumer: ReturnType<typeof createAlertConsumer>;
  const received: AlertEvent[] = [];
  const devices = new Map<string, Device>();

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'gg-evidence-e2e-'));
    await writeFile(
      join(base, 'rules.yaml'),
      `rules:
  - id: forced
    name: 门被强行打开
    selector: { family: access }
    event: "access.event == 'door_forced'"
    by: [door]
    severity: red
    resolveAfter: 10m
`,
    );
    const config = loadConfig({
      env: {
        GRIDGATE_REDIS__URL: redisUrl,
        GRIDGATE_REDIS__PREFIX: `gg-test-${run}:`,
        GRIDGATE_RULES__DIR: base,
        GRIDGATE_RULES__WATCH: 'false',
        GRIDGATE_DISPATCH__QUEUE: queue,
      },
    });
    store = new SnapshotStore({ ...config.cameras.snapshots, dir: join(base, 'snapshots'), logger: quiet });
    await store.start();
    redis = new Redis(redisUrl);
    // cam-lobby says it covers door-cam; door-dark names cam-dead in its own `cameras` binding.
    devices.set('cam-lobby', {
      ...door('cam-lobby', []),
      family: 'camera',
      model: 'rtsp-camera',
      covers: ['door-cam'],
    });
    devices.set('cam-dead', { ...door('cam-dead', []), family: 'camera', model: 'rtsp-camera' });
    devices.set('door-cam', door('door-cam', []));
    devices.set('door-dark', door('door-dark', ['cam-dead']));
    devices.set('door-none', door('door-none', []));
    alerting = await Alerting.create({
      config,
      redis,
      devices,
      publish: async () => undefined,
      logger: quiet,
      snapshots: {
        source: async (camera) => {
          if (camera === 'cam-dead') throw new Error('camera offline: no RTSP answer');
          return { jpeg, at: Date.now() };
        },
        store: (camera, data, at) => store.save(camera, data, at),
        camerasFor: (e) => camerasForEvent(e, new CameraIndex(devices.values())),
        waitMs: config.cameras.snapshots.waitMs,
      },
    });
    await alerting.start();
    consumer = createAlertConsumer({
      connection: redisUrl,
      queue,
      handler: async (event) => {
        received.push(event);
      },
    });
    await consumer.ready();
  });

  afterAll(async () => {
    await consumer?.close();
    await alerting?.stop();
    await obliterate(redisUrl, [queue]);
    await redis?.quit();
    await store?.stop();
    await rm(base, { recursive: true, force: true });
  });

  it('a firing for a device with a camera carries a stored snapshot; a failed camera says so; no camera, no entry', async () => {
    const now = Date.now();
    for (const id of ['door-cam', 'door-dark', 'door-none']) {
      const d = devices.get(id)!;
      alerting.engine.write(
        {
          device: id,
          measurement: 'access',
          time: now,
          fields: { battery_v: 3.9 },
          tags: { device: id, family: 'access', event: 'door_forced', door: '1' },
        },
        d,
      );
    }
    const deadline = Date.now() + 20_000;
    while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const by = new Map(received.map((e) => [e.device?.id, e]));
    expect([...by.keys()].sort()).toEqual(['door-cam', 'door-dark', 'door-none']);

    const shot = by.get('door-cam')!.evidence;
    expect(shot).toHaveLength(1);
    expect(shot[0]).toMatchObject({ kind: 'snapshot', camera: 'cam-lobby' });
    const file = shot[0]!.url!.replace(/^\/api\/v1\/snapshots\//, '');
    expect((await store.read(file)).equals(jpeg)).toBe(true);

    expect(by.get('door-dark')!.evidence).toEqual([
      {
        kind: 'snapshot',
        camera: 'cam-dead',
        at: expect.any(String),
        error: 'snapshot failed: camera offline: no RTSP answer',
      },
    ]);
    expect(by.get('door-none')!.evidence).toEqual([]);
    expect(alerting.evidence?.stats()).toMatchObject({ events: 2, snapshots: 1, failed: 1 });
  });
});
