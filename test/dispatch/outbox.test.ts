import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertDispatcher } from '../../adapters/bullmq/dispatcher.js';
import { encodeEntries, openOutbox } from '../../adapters/bullmq/outbox-lines.js';
import type { DiskSpool } from '../../adapters/fs/disk-spool.js';
import { createAlertConsumer } from '../../gateway/consumer.js';
import type { AlertEvent } from '../../processors/alerts/event.js';
import { captureLogs } from '../adapters/support.js';
import {
  cleanups,
  ownRedis,
  queueOn,
  sampleEvent,
  silent,
  tempOutbox,
  uniqueName,
  waitFor,
} from './support.js';

/** The outbox folder as the dispatcher opens it. */
function outboxSpool(dir: string): DiskSpool {
  return openOutbox({ dir, maxMB: 1 }, silent);
}

/** Events waiting in an outbox folder, read the way the next start reads them. */
async function depthOnDisk(dir: string): Promise<number> {
  const o = outboxSpool(dir);
  await o.ready;
  const n = o.lines;
  await o.close();
  return n;
}

const segmentFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.spool'));

function dispatcher(url: string, queue: string, outboxDir: string): AlertDispatcher {
  const d = new AlertDispatcher({
    connection: url,
    logger: silent,
    defaultQueue: queue,
    outbox: { dir: outboxDir, maxMB: 8 },
    retryMinMs: 50,
    retryMaxMs: 300,
    addTimeoutMs: 1000,
    stopFlushMs: 500,
  });
  cleanups.push(() => d.stop());
  return d;
}

/** One incident's events: firing, escalated, n reminders, resolved, with distinct deterministic ids. */
function incident(tag: string, reminders = 2): AlertEvent[] {
  const incidentId = `${tag}-${Math.random().toString(36).slice(2, 8)}`;
  const types: AlertEvent['type'][] = [
    'alert.firing',
    'alert.escalated',
    ...Array<AlertEvent['type']>(reminders).fill('alert.reminder'),
    'alert.resolved',
  ];
  return types.map((type, seq) =>
    sampleEvent({
      incidentId,
      id: `${incidentId}.${seq}`,
      type,
      ...(type === 'alert.escalated' ? { previousSeverity: 'blue', reason: 'severity_rose' } : {}),
      ...(type === 'alert.resolved' ? { resolvedAt: '2026-07-01T09:00:00.000Z' } : {}),
    }),
  );
}

function consume(url: string, queue: string): { seen: AlertEvent[] } {
  const seen: AlertEvent[] = [];
  const c = createAlertConsumer({
    connection: url,
    queue,
    handler: async (e) => {
      seen.push(e);
    },
  });
  cleanups.push(() => c.close());
  return { seen };
}

function byIncident(events: readonly AlertEvent[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const e of events) m.set(e.incidentId, [...(m.get(e.incidentId) ?? []), e.id]);
  return m;
}

/**
 * The dispatcher's outbox against a Redis of each test's own: SIGKILLed for the outage, started
 * again on the same port with its AOF data.
 */
describe('AlertDispatcher outbox', () => {
  it('Redis SIGKILLed: events wait on disk, later ones queue behind them, all arrive once and in order', async () => {
    const redis = await ownRedis();
    const queue = uniqueName('alerts');
    const outboxDir = join(redis.dir, 'outbox');
    const d = dispatcher(redis.url, queue, outboxDir);
    const { seen } = consume(redis.url, queue);
    const [a, b] = [incident('a'), incident('b')];
    await d.emit(a[0]!);
    await d.emit(b[0]!);
    await waitFor(() => (seen.length === 2 ? true : undefined));

    await redis.kill();
    for (const e of [a[1]!, b[1]!, a[2]!]) await d.emit(e);
    expect(d.stats()).toMatchObject({ outboxDepth: 3, buffered: 3 });
    expect(segmentFiles(outboxDir).length).toBeGreaterThan(0);
    expect(d.stats().oldestWaitingAt).toBeLessThanOrEqual(Date.now());

    await redis.restart();
    // Emitted as Redis comes back: still behind what the outbox holds.
    for (const e of [a[3]!, b[2]!, a[4]!, b[3]!, b[4]!]) void d.emit(e);
    await waitFor(() => (seen.length === 10 ? true : undefined), 30_000);
    expect(d.stats()).toMatchObject({ buffered: 0, outboxDepth: 0, outboxBytes: 0, dropped: 0 });
    expect(seen.map((e) => e.id).sort()).toEqual([...a, ...b].map((e) => e.id).sort());
    expect(byIncident(seen)).toEqual(byIncident([...a, ...b]));
    // The outbox is empty on disk too.
    expect(segmentFiles(outboxDir)).toEqual([]);
  }, 60_000);

  it('stopping while Redis is down keeps every event on disk; the next start sends them before anything new', async () => {
    const redis = await ownRedis();
    const queue = uniqueName('alerts');
    const outboxDir = join(redis.dir, 'outbox');
    const first = dispatcher(redis.url, queue, outboxDir);
    const inc = incident('restart', 3);
    await first.emit(inc[0]!);
    await redis.kill();
    for (const e of inc.slice(1, 4)) await first.emit(e);
    // Still in memory at stop: emitted without waiting.
    void first.emit(inc[4]!);
    await first.stop(); // bounded: Redis is dead
    expect(await depthOnDisk(outboxDir)).toBe(4);

    await redis.restart();
    const second = dispatcher(redis.url, queue, outboxDir);
    await second.emit(inc[5]!);
    const q = queueOn(queue, redis.url);
    await waitFor(async () => ((await q.count()) === 6 ? true : undefined), 30_000);
    // Queue order (oldest first), not timestamps: two adds in the same millisecond tie on those.
    const jobs = await q.getJobs(['waiting'], 0, -1, true);
    expect(jobs.map((j) => j.id)).toEqual(inc.map((e) => e.id));
    expect(second.stats()).toMatchObject({ outboxDepth: 0, buffered: 0 });
  }, 60_000);

  it('a crash between enqueue and the outbox moving on: the re-sent events reach the consumer once', async () => {
    const redis = await ownRedis();
    const queue = uniqueName('alerts');
    const outboxDir = join(redis.dir, 'outbox');
    const inc = incident('crash', 4);
    // What the crashed run left: all six events in the outbox, the first four already in Redis
    // and handled (their jobs removed on completion).
    const left = outboxSpool(outboxDir);
    await left.push(encodeEntries(inc.map((event) => ({ queue, event, at: Date.now() }))));
    await left.close();
    const earlier = new AlertDispatcher({
      connection: redis.url,
      logger: silent,
      defaultQueue: queue,
      retention: { completedCount: 0 },
      outbox: tempOutbox(),
    });
    for (const e of inc.slice(0, 4)) await earlier.emit(e);
    await earlier.stop();
    const { seen } = consume(redis.url, queue);
    await waitFor(() => (seen.length === 4 ? true : undefined));

    const d = dispatcher(redis.url, queue, outboxDir);
    await d.ready;
    expect(existsSync(join(outboxDir, 'lock'))).toBe(true);
    await waitFor(() => (d.stats().buffered === 0 && seen.length >= 6 ? true : undefined), 30_000);
    // Give a duplicate the chance to show.
    const q = queueOn(queue, redis.url);
    await waitFor(async () => ((await q.getJobCounts('waiting', 'active')).waiting === 0 ? true : undefined));
    expect(seen.map((e) => e.id)).toEqual(inc.map((e) => e.id));
  }, 60_000);

  it('stop is bounded with Redis down and events still arriving', async () => {
    const redis = await ownRedis();
    const queue = uniqueName('alerts');
    const d = dispatcher(redis.url, queue, join(redis.dir, 'outbox'));
    await redis.kill();
    for (let i = 0; i < 50; i++) void d.emit(sampleEvent());
    const t0 = Date.now();
    await d.stop();
    // Bound from the gateway: 10 s per component. (Not a speed claim: a hang would never return.)
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await depthOnDisk(join(redis.dir, 'outbox'))).toBe(50);
  }, 60_000);

  it('says so when the folder holds segments of the earlier outbox format, which it does not read', async () => {
    const outbox = tempOutbox();
    mkdirSync(outbox.dir, { recursive: true });
    writeFileSync(join(outbox.dir, '0000000001.seg'), 'old');
    const logs = captureLogs();
    const d = new AlertDispatcher({ connection: 'redis://127.0.0.1:1', logger: logs.logger, outbox });
    cleanups.push(() => d.stop());
    await d.ready;
    const said = logs.entries.find((e) => e.level === 50 && String(e.msg).includes('earlier version'));
    expect(said).toMatchObject({ dir: outbox.dir, files: 1 });
  });
});
