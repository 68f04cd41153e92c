import { describe, expect, inject, it } from 'vitest';
import { createAlertConsumer } from '../../gateway/consumer.js';
import type { AlertEvent } from '../../processors/alerts/event.js';
import { cleanups, obliterate, queueOn, sampleEvent, uniqueName, waitFor } from './support.js';

const redisUrl = inject('redisUrl');

describe('gridgate/consumer createAlertConsumer', () => {
  it('passes valid jobs to the handler and fails an invalid job without calling it or retrying', async () => {
    const name = uniqueName('consumer');
    cleanups.push(() => obliterate(redisUrl, [name]));
    const queue = queueOn(name);
    const handled: AlertEvent[] = [];
    const failed: { id: string | undefined; message: string; attemptsMade: number }[] = [];
    const consumer = createAlertConsumer({
      connection: redisUrl,
      queue: name,
      concurrency: 2,
      handler: async (e) => {
        handled.push(e);
      },
    });
    consumer.worker.on('failed', (job, err) =>
      failed.push({ id: job?.id, message: err.message, attemptsMade: job?.attemptsMade ?? -1 }),
    );
    cleanups.push(() => consumer.close());
    await consumer.ready();

    const good = sampleEvent();
    const { summary: _s, ...noSummary } = sampleEvent();
    await queue.add('alert.firing', noSummary, { jobId: 'bad-1', attempts: 5 });
    await queue.add(good.type, good, { jobId: good.id });
    await waitFor(() => (handled.length === 1 && failed.length === 1 ? true : undefined));

    expect(handled).toEqual([good]);
    expect(failed[0]?.id).toBe('bad-1');
    expect(failed[0]?.message).toMatch(/not a valid gridgate\.alert\/v1 event: .*summary/);
    const bad = await queue.getJob('bad-1');
    expect(await bad?.getState()).toBe('failed');
    // UnrecoverableError: no retry although the job allowed 5 attempts.
    expect(bad?.attemptsMade).toBe(1);
  });
});
