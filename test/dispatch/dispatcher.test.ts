import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { AlertDispatcher } from '../../adapters/bullmq/dispatcher.js';
import { type AlertDispatcherOptions, DEFAULT_RETENTION } from '../../adapters/bullmq/dispatcher-options.js';
import { createAlertConsumer } from '../../gateway/consumer.js';
import type { AlertEvent } from '../../processors/alerts/event.js';
import { routeEvent } from '../../processors/alerts/routing.js';
import { validateAlertEvent } from '../../processors/alerts/validate.js';
import {
  cleanups,
  obliterate,
  ownRedis,
  queueOn,
  sampleEvent,
  silent,
  tempOutbox,
  uniqueName,
  waitFor,
} from './support.js';

const redisUrl = inject('redisUrl');

/** A dispatcher stopped after the test; on the suite's Redis, its queues are removed too. */
function dispatcher(opts: Partial<AlertDispatcherOptions> = {}): AlertDispatcher {
  const d = new AlertDispatcher({ connection: redisUrl, logger: silent, outbox: tempOutbox(), ...opts });
  cleanups.push(async () => {
    await d.stop();
    if (opts.connection === undefined) await obliterate(redisUrl, d.queueNames());
  });
  return d;
}

describe('AlertDispatcher', () => {
  it('enqueues with job name = event type, jobId = event id, schema-valid data; a real worker receives it', async () => {
    const queue = uniqueName('alerts');
    const d = dispatcher({ defaultQueue: queue });
    const got: { event: AlertEvent; name: string; id: string | undefined }[] = [];
    const consumer = createAlertConsumer({
      connection: redisUrl,
      queue,
      handler: async (event, job) => {
        got.push({ event, name: job.name, id: job.id });
      },
    });
    cleanups.push(() => consumer.close());
    const firing = sampleEvent();
    const resolved = sampleEvent({
      incidentId: firing.incidentId,
      id: `${firing.incidentId}.resolved.1`,
      type: 'alert.resolved',
      resolvedAt: '2026-07-01T09:00:00.000Z',
    });
    await d.emit(firing);
    await d.emit(resolved);
    await waitFor(() => (got.length === 2 ? true : undefined));
    expect(got.map((g) => [g.name, g.id])).toEqual([
      ['alert.firing', firing.id],
      ['alert.resolved', resolved.id],
    ]);
    for (const g of got) expect(validateAlertEvent(g.event).ok).toBe(true);
    expect(got[0]!.event).toEqual(firing);
    expect(d.stats()).toMatchObject({ enqueued: 2, invalid: 0, buffered: 0 });
  });

  it('sets bounded retention, attempts and backoff on every job', async () => {
    const queue = uniqueName('alerts');
    const d = dispatcher({ defaultQueue: queue, retention: { completedCount: 100 } });
    const e = sampleEvent();
    await d.emit(e);
    const job = await queueOn(queue).getJob(e.id);
    expect(job?.opts.removeOnComplete).toEqual({ age: DEFAULT_RETENTION.completedAgeS, count: 100 });
    expect(job?.opts.removeOnFail).toEqual({
      age: DEFAULT_RETENTION.failedAgeS,
      count: DEFAULT_RETENTION.failedCount,
    });
    expect(job?.opts.attempts).toBe(5);
    expect(job?.opts.backoff).toEqual({ type: 'exponential', delay: 2000 });
  });

  it('enqueues a replayed event once, even after its job was completed and removed', async () => {
    const queue = uniqueName('alerts');
    const d = dispatcher({ defaultQueue: queue, retention: { completedCount: 0 } });
    const e = sampleEvent();
    await d.emit(e);
    await d.emit(e);
    await d.emit(structuredClone(e));
    const q = queueOn(queue);
    expect(await q.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed')).toMatchObject({
      waiting: 1,
    });
    let handled = 0;
    const consumer = createAlertConsumer({
      connection: redisUrl,
      queue,
      handler: async () => {
        handled++;
      },
    });
    cleanups.push(() => consumer.close());
    await waitFor(async () => ((await q.getJob(e.id)) === undefined && handled === 1 ? true : undefined));
    // The job is gone (removeOnComplete count 0): a replay now must still be recognised.
    await d.emit(e);
    const counts = await q.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(await q.getJob(e.id)).toBeUndefined();
    expect(handled).toBe(1);
  });

  it('routes by district and minimum severity to different queues, unmatched to the default', async () => {
    const [def, pudong, red] = [uniqueName('default'), uniqueName('pudong'), uniqueName('red')];
    const d = dispatcher({
      defaultQueue: def,
      routes: [
        { match: { district: '浦东新区' }, queue: pudong },
        { match: { severity: 'orange', family: 'flood' }, queue: red },
      ],
    });
    const loc = { district: '黄浦区', street: 's', community: 'c', grid: 'g' };
    const yellowPudong = sampleEvent();
    const redPudong = sampleEvent({ severity: 'red' });
    const blueHuangpu = sampleEvent({ severity: 'blue', location: loc });
    const orangeHuangpu = sampleEvent({ severity: 'orange', location: loc });
    for (const e of [yellowPudong, redPudong, blueHuangpu, orangeHuangpu]) await d.emit(e);
    const ids = async (name: string) => (await queueOn(name).getJobs(['waiting'])).map((j) => j.id).sort();
    expect(await ids(pudong)).toEqual([yellowPudong.id, redPudong.id].sort());
    expect(await ids(red)).toEqual([redPudong.id, orangeHuangpu.id].sort());
    expect(await ids(def)).toEqual([blueHuangpu.id]);
  });

  it('routing: a route with an empty match takes every event; family needs a device', () => {
    const routing = {
      defaultQueue: 'rest',
      routes: [
        { match: { family: 'flood' as const }, queue: 'flood' },
        { match: {}, queue: 'city' },
      ],
    };
    expect(routeEvent(sampleEvent(), routing)).toEqual(['flood', 'city']);
    const correlation = { ...sampleEvent(), device: undefined };
    expect(routeEvent(correlation, routing)).toEqual(['city']);
    expect(routeEvent(correlation, { ...routing, routes: routing.routes.slice(0, 1) })).toEqual(['rest']);
  });

  it('counts and drops invalid and shadow events instead of enqueueing them', async () => {
    const queue = uniqueName('alerts');
    const d = dispatcher({ defaultQueue: queue });
    await d.emit({ ...sampleEvent(), severity: 'purple' } as unknown as AlertEvent);
    await d.emit(sampleEvent({ shadow: true }));
    expect(d.stats()).toMatchObject({ invalid: 1, shadow: 1, enqueued: 0 });
    expect(await queueOn(queue).count()).toBe(0);
  });

  it('does not throw when Redis is down, buffers, and delivers once Redis is back', async () => {
    const redis = await ownRedis();
    const queue = uniqueName('alerts');
    const d = dispatcher({
      connection: redis.url,
      defaultQueue: queue,
      retryMinMs: 50,
      retryMaxMs: 200,
      addTimeoutMs: 1000,
    });
    const before = sampleEvent();
    await d.emit(before);
    expect(d.stats().enqueued).toBe(1);

    await redis.stop();
    const during = [sampleEvent(), sampleEvent()];
    for (const e of during) await expect(d.emit(e)).resolves.toBeUndefined();
    expect(d.stats().buffered).toBe(2);
    expect(d.stats().failures).toBeGreaterThanOrEqual(1);

    await redis.restart();
    await waitFor(() => (d.stats().buffered === 0 ? true : undefined), 30_000);
    const q = queueOn(queue, redis.url);
    const jobs = await q.getJobs(['waiting']);
    expect(jobs.map((j) => j.id).sort()).toEqual([before.id, ...during.map((e) => e.id)].sort());
    // Delivered in order: the buffered ones after the first.
    expect(jobs.sort((a, b) => a.timestamp - b.timestamp).map((j) => j.id)).toEqual([
      before.id,
      ...during.map((e) => e.id),
    ]);
    expect(d.stats().enqueued).toBe(3);
  });

  it('does not hang when Redis is down from the start, and delivers once it comes up', async () => {
    const redis = await ownRedis();
    await redis.stop();
    const queue = uniqueName('alerts');
    const d = dispatcher({
      connection: redis.url,
      defaultQueue: queue,
      retryMinMs: 50,
      retryMaxMs: 200,
      addTimeoutMs: 300,
    });
    const e = sampleEvent();
    await d.emit(e);
    expect(d.stats()).toMatchObject({ enqueued: 0, buffered: 1 });
    await redis.restart();
    await waitFor(() => (d.stats().buffered === 0 ? true : undefined), 30_000);
    expect((await queueOn(queue, redis.url).getJob(e.id))?.name).toBe('alert.firing');
  });

  it('while the outbox cannot be written, holds events in memory, drops the oldest past the limit, and counts it', async () => {
    const redis = await ownRedis();
    // A file where the outbox's parent folder should be: the folder can never be made.
    const blocked = join(redis.dir, 'not-a-folder');
    writeFileSync(blocked, '');
    const d = dispatcher({
      connection: redis.url,
      defaultQueue: uniqueName('alerts'),
      outbox: { dir: join(blocked, 'outbox'), maxMB: 1 },
      bufferLimit: 2,
      addTimeoutMs: 1000,
    });
    await expect(d.ready).rejects.toThrow(/ENOTDIR/);
    await d.emit(sampleEvent());
    await redis.stop();
    for (let i = 0; i < 4; i++) await d.emit(sampleEvent());
    expect(d.stats()).toMatchObject({ buffered: 2, outboxDepth: 0, dropped: 2 });
  });
});
