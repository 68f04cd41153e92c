import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { Alerting } from '../../gateway/alerting.js';
import { type AlertEvent, createAlertConsumer } from '../../gateway/consumer.js';
import type { Device } from '../../processors/types.js';
import { freePort, type RunningService, startRedis } from '../../scripts/services.js';
import { device, reading } from '../rules/helpers.js';

/**
 * Issue 19: Redis SIGKILLed for 20 s while incidents fire and resolve. The real rules engine,
 * dispatcher (with its outbox) and consumer, against a Redis of this test's own (AOF on), killed
 * and started again on the same port with its data. Every event the engine emitted must be in the
 * queue once and reach the consumer in order per incident.
 */
const OUTAGE_MS = 20_000;
const RULES = `
rules:
  - id: flood.level
    name: 水位超警戒
    condition: "water_level_m >= 2.5"
    severity: yellow
  - id: flood.danger
    name: 水位超危险
    condition: "water_level_m >= 3.0"
    severity: red
`;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

describe('alert events across a Redis outage', () => {
  it('Redis SIGKILLed for 20 s while incidents fire and resolve: each event in the queue once, in order per incident', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gg-redis-outage-'));
    const port = await freePort();
    let redis: RunningService = await startRedis(join(dir, 'redis'), port);
    cleanups.push(async () => {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    });
    await writeFile(join(dir, 'rules.yaml'), RULES);
    const queue = `alerts-outage-${Math.random().toString(36).slice(2, 8)}`;
    const config = loadConfig({
      env: {
        GRIDGATE_REDIS__URL: redis.url,
        GRIDGATE_RULES__DIR: dir,
        GRIDGATE_RULES__WATCH: 'false',
        GRIDGATE_DISPATCH__QUEUE: queue,
        GRIDGATE_DISPATCH__OUTBOX__DIR: join(dir, 'outbox'),
        GRIDGATE_MQTT__ALERT_TOPIC: '',
      },
    });
    // The gateway's own client options (gateway/compose/registry.ts).
    const client = new Redis(config.redis.url, { maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    const devices = new Map<string, Device>();
    for (let i = 1; i <= 6; i++) devices.set(`WL-${i}`, device({ id: `WL-${i}` }));
    const logger = pino({ level: process.env.GRIDGATE_TEST_LOG ?? 'silent' });
    const alerting = await Alerting.create({
      config,
      redis: client,
      devices: { get: (id) => devices.get(id) },
      publish: async () => {},
      logger,
    });
    await alerting.start();
    const seen: { event: AlertEvent; jobId: string | undefined }[] = [];
    const consumer = createAlertConsumer({
      connection: redis.url,
      queue,
      handler: async (event, job) => {
        seen.push({ event, jobId: job.id });
      },
    });
    cleanups.push(async () => {
      await consumer.close();
      await alerting.stop();
      client.disconnect();
    });

    // Each device's level walks up and down, so incidents fire, escalate to the second rule and
    // resolve, again and again: several events per incident, many incidents.
    let step = 0;
    const drive = () => {
      step++;
      for (const [i, d] of [...devices.values()].entries()) {
        const phase = (step + i * 3) % 12;
        const level = phase < 4 ? 2.0 : phase < 8 ? 2.7 : phase < 10 ? 3.2 : 2.6;
        alerting.engine.write(reading(d, Date.now(), { water_level_m: level }), d);
      }
    };
    const run = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        drive();
        alerting.engine.tick();
        await sleep(100);
      }
    };

    await run(2000);
    const beforeOutage = alerting.recent.list({ limit: 1000 }).length;
    await until(() => seen.length >= beforeOutage, 10_000, 'events before the outage delivered');

    await new Promise<void>((resolve) => {
      redis.proc.once('exit', () => resolve());
      redis.proc.kill('SIGKILL');
    });
    await run(OUTAGE_MS);
    const during = alerting.dispatcher.stats();
    expect(during.outboxDepth).toBeGreaterThan(0);
    expect(during.dropped).toBe(0);

    redis = await startRedis(join(dir, 'redis'), port);
    await run(2000);
    // Every device back below the line: every open incident resolves.
    for (const d of devices.values())
      alerting.engine.write(reading(d, Date.now(), { water_level_m: 1.0 }), d);
    alerting.engine.tick();
    const emitted = alerting.recent.list({ limit: 1000 });
    await until(
      () => alerting.dispatcher.stats().buffered === 0 && seen.length >= emitted.length,
      60_000,
      'every emitted event consumed',
    );
    await sleep(1000); // a duplicate, if any, would show now

    const ids = (xs: readonly AlertEvent[]) => xs.map((e) => e.id);
    const emittedIds = ids(emitted); // in emit order
    expect(emitted.length).toBeLessThan(1000); // the recent list holds them all
    const seenIds = seen.map((s) => s.event.id);
    const duplicates = seenIds.length - new Set(seenIds).size;
    const lost = emittedIds.filter((id) => !seenIds.includes(id));
    // The figures for the closing note.
    logger.info(
      { emitted: emittedIds.length, consumed: seenIds.length, lost: lost.length, duplicates },
      'outage figures',
    );
    expect(emittedIds.length).toBeGreaterThan(beforeOutage);
    expect(lost).toEqual([]);
    expect(duplicates).toBe(0);
    expect(new Set(seenIds)).toEqual(new Set(emittedIds));
    for (const s of seen) expect(s.jobId).toBe(s.event.id);
    // In order per incident: the consumer's order equals the engine's emit order.
    const perIncident = (xs: readonly AlertEvent[]) => {
      const m = new Map<string, string[]>();
      for (const e of xs) m.set(e.incidentId, [...(m.get(e.incidentId) ?? []), e.id]);
      return m;
    };
    expect(perIncident(seen.map((s) => s.event))).toEqual(perIncident(emitted));
    // Each incident's stream is well formed: firing first, resolved last.
    for (const [id, list] of perIncident(seen.map((s) => s.event))) {
      const types = list.map((eid) => seen.find((s) => s.event.id === eid)!.event.type);
      expect(types[0], id).toBe('alert.firing');
      expect(types.at(-1), id).toBe('alert.resolved');
    }
  }, 120_000);
  it('a restart during the outage: the stopped gateway leaves its events on disk, the next start sends them first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gg-redis-restart-'));
    const port = await freePort();
    let redis: RunningService = await startRedis(join(dir, 'redis'), port);
    cleanups.push(async () => {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    });
    await writeFile(join(dir, 'rules.yaml'), RULES);
    const queue = `alerts-restart-${Math.random().toString(36).slice(2, 8)}`;
    const config = loadConfig({
      env: {
        GRIDGATE_REDIS__URL: redis.url,
        GRIDGATE_RULES__DIR: dir,
        GRIDGATE_RULES__WATCH: 'false',
        GRIDGATE_DISPATCH__QUEUE: queue,
        GRIDGATE_DISPATCH__OUTBOX__DIR: join(dir, 'outbox'),
        GRIDGATE_MQTT__ALERT_TOPIC: '',
      },
    });
    const d = device({ id: 'WL-R1' });
    const logger = pino({ level: process.env.GRIDGATE_TEST_LOG ?? 'silent' });
    const start = async () => {
      const client = new Redis(config.redis.url, { maxRetriesPerRequest: 3 });
      client.on('error', () => {});
      const a = await Alerting.create({
        config,
        redis: client,
        devices: { get: (id) => (id === d.id ? d : undefined) },
        publish: async () => {},
        logger,
      });
      await a.start();
      return { a, client };
    };
    const write = (a: Alerting, level: number) =>
      a.engine.write(reading(d, Date.now(), { water_level_m: level }), d);
    const seen: AlertEvent[] = [];
    const consumer = createAlertConsumer({
      connection: redis.url,
      queue,
      handler: async (event) => {
        seen.push(event);
      },
    });
    cleanups.push(() => consumer.close());

    const first = await start();
    write(first.a, 2.7); // fires before the outage
    await until(() => seen.length === 1, 10_000, 'firing consumed');
    await new Promise<void>((resolve) => {
      redis.proc.once('exit', () => resolve());
      redis.proc.kill('SIGKILL');
    });
    write(first.a, 3.2); // a second rule fires
    write(first.a, 2.0); // both resolve
    const outage = first.a.recent.list({ limit: 1000 });
    expect(outage.map((e) => e.type).sort()).toEqual([
      'alert.firing',
      'alert.firing',
      'alert.resolved',
      'alert.resolved',
    ]);
    await first.a.stop(); // SIGTERM while Redis is down
    first.client.disconnect();
    expect(seen).toHaveLength(1);

    redis = await startRedis(join(dir, 'redis'), port);
    const second = await start();
    cleanups.push(async () => {
      await second.a.stop();
      second.client.disconnect();
    });
    write(second.a, 2.7); // a new incident after the restart
    await until(() => second.a.dispatcher.stats().buffered === 0 && seen.length >= 5, 30_000, 'outbox sent');
    await sleep(500);
    // The three events the stopped gateway held arrive once, in order, before the new incident's.
    expect(seen.map((e) => e.id)).toEqual([
      ...outage.map((e) => e.id),
      ...second.a.recent.list().map((e) => e.id),
    ]);
  }, 120_000);
});
