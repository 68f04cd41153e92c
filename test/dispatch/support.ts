import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, inject } from 'vitest';
import type { AlertEvent } from '../../processors/alerts/event.js';
import { freePort, startRedis } from '../../scripts/services.js';

export const silent = pino({ level: 'silent' });

/** Run after each test of the file that imports this, the latest pushed first. */
export const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export function uniqueName(tag: string): string {
  return `test-${tag}-${randomUUID().slice(0, 8)}`;
}

/** An outbox folder of the test's own, removed after it (the cleanups run after the dispatchers' stops). */
export function tempOutbox(): { dir: string; maxMB: number } {
  const parent = mkdtempSync(join(tmpdir(), 'gg-outbox-'));
  cleanups.unshift(() => rm(parent, { recursive: true, force: true }));
  return { dir: join(parent, 'outbox'), maxMB: 8 };
}

let seq = 0;

/** A valid firing event; ids unique per call. */
export function sampleEvent(over: Partial<AlertEvent> = {}): AlertEvent {
  seq++;
  const incidentId = over.incidentId ?? `flood-level.gauge-${seq}-${randomUUID().slice(0, 6)}`;
  return {
    schema: 'gridgate.alert/v1',
    id: `${incidentId}.firing.1`,
    incidentId,
    type: 'alert.firing',
    rule: { id: 'flood-level', name: '积水水位 / Flood water level' },
    severity: 'yellow',
    device: {
      id: `gauge-${seq}`,
      family: 'flood',
      model: 'acme-wl100',
      location: { district: '浦东新区', street: '花木街道', community: '锦绣社区', grid: 'G01' },
      lat: 31.2,
      lon: 121.5,
    },
    location: { district: '浦东新区', street: '花木街道', community: '锦绣社区', grid: 'G01' },
    metric: 'water_level_m',
    value: 2.61,
    threshold: 2.5,
    unit: 'm',
    startedAt: '2026-07-01T08:00:00.000Z',
    at: '2026-07-01T08:00:00.000Z',
    summary: {
      zh: '锦绣社区积水 2.61 m，超过黄色警戒 2.5 m',
      en: 'Water level 2.61 m at 锦绣社区, above yellow 2.5 m',
    },
    evidence: [],
    ...over,
  };
}

/** Remove every key of the named queues. */
export async function obliterate(redisUrl: string, names: readonly string[], prefix?: string): Promise<void> {
  const client = new Redis(redisUrl);
  for (const name of names) {
    const q = new Queue(name, { connection: client, ...(prefix ? { prefix } : {}) });
    await q.obliterate({ force: true });
    await q.close();
  }
  await client.quit();
}

/** Poll until `check` returns a value other than undefined (generous deadline; not a timing assertion). */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Queue to look at `name` through (on the suite's Redis unless `url` says), closed after the test. */
export function queueOn(name: string, url = inject('redisUrl')): Queue {
  const client = new Redis(url);
  // The test's own Redis may be down on purpose.
  client.on('error', () => {});
  const q = new Queue(name, { connection: client });
  cleanups.push(async () => {
    await q.close();
    client.disconnect();
  });
  return q;
}

export interface OwnRedis {
  url: string;
  /** Holds the Redis data; free for the test's own files too. */
  dir: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Start again on the same port, with the data it had. */
  restart(): Promise<void>;
}

/** A Redis of the test's own (the suite's shared one is never stopped), removed after the test. */
export async function ownRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'gg-dispatch-redis-'));
  const port = await freePort();
  // Killed with SIGKILL by the tests: what it answered must survive that.
  let r = await startRedis(join(dir, 'redis'), port, { fsyncAlways: true });
  cleanups.push(async () => {
    await r.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url: r.url,
    dir,
    stop: () => r.stop(),
    kill: () =>
      new Promise<void>((resolve) => {
        if (r.proc.exitCode !== null || r.proc.signalCode !== null) return resolve();
        r.proc.once('exit', () => resolve());
        r.proc.kill('SIGKILL');
      }),
    restart: async () => {
      r = await startRedis(join(dir, 'redis'), port, { fsyncAlways: true });
    },
  };
}
