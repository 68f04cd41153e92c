/**
 * The BullMQ side of alert dispatch: one Queue per queue name on the dispatcher's connection, and
 * the add itself.
 *
 * - Job name = event type, jobId = event id. BullMQ ignores an add whose jobId already exists, but
 *   only while that job is retained; so each add also carries BullMQ's native `deduplication`
 *   {id: event.id, ttl} (checked atomically in the same Lua script as the add). The dedup key
 *   outlives job retention: a replayed event is never enqueued twice within `dedupTtlMs`
 *   (default 7 days), even after its job was completed and removed. This is what makes re-sending
 *   safe: an event sent again after a crash between its add and the outbox moving past it reaches
 *   consumers once.
 * - Retention is bounded by age and count (completed 24 h / 10,000; failed 7 d / 50,000).
 * - Consumers get `attempts` with exponential backoff.
 */
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { withTimeout } from './deadline.js';
import type { OutboxEntry } from './outbox-file.js';

export interface AlertRetention {
  /** Seconds a completed job is kept. */
  completedAgeS: number;
  completedCount: number;
  /** Seconds a failed job is kept (longer: someone has to look at it). */
  failedAgeS: number;
  failedCount: number;
}

export const DEFAULT_RETENTION: AlertRetention = {
  completedAgeS: 24 * 3600,
  completedCount: 10_000,
  failedAgeS: 7 * 24 * 3600,
  failedCount: 50_000,
};

export interface AlertQueuesOptions {
  client: Redis;
  log: Logger;
  prefix?: string;
  retention?: Partial<AlertRetention>;
  attempts?: number;
  backoffMs?: number;
  dedupTtlMs?: number;
  addTimeoutMs?: number;
}

export class AlertQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly jobOpts: JobsOptions;
  private readonly dedupTtlMs: number;
  private readonly addTimeoutMs: number;

  constructor(private readonly opts: AlertQueuesOptions) {
    const r = { ...DEFAULT_RETENTION, ...opts.retention };
    this.jobOpts = {
      removeOnComplete: { age: r.completedAgeS, count: r.completedCount },
      removeOnFail: { age: r.failedAgeS, count: r.failedCount },
      attempts: opts.attempts ?? 5,
      backoff: { type: 'exponential', delay: opts.backoffMs ?? 2000 },
    };
    this.dedupTtlMs = opts.dedupTtlMs ?? 7 * 24 * 3600 * 1000;
    this.addTimeoutMs = opts.addTimeoutMs ?? 5000;
  }

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.opts.client,
        ...(this.opts.prefix ? { prefix: this.opts.prefix } : {}),
      });
      q.on('error', (err: Error) => this.opts.log.debug({ err: err.message, queue: name }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  /** Add the event to its queue; rejects when Redis fails or does not answer within `addTimeoutMs`. */
  async add({ queue, event }: OutboxEntry): Promise<void> {
    const adding = this.queue(queue).add(event.type, event, {
      ...this.jobOpts,
      jobId: event.id,
      deduplication: { id: event.id, ttl: this.dedupTtlMs },
    });
    // Before its first connection BullMQ waits for Redis to be ready instead of failing; bound that
    // wait. An add that still lands later is harmless: the retry carries the same jobId, and it was
    // the oldest waiting event, so it cannot land behind a later one.
    await withTimeout(adding, this.addTimeoutMs);
  }

  /** Close every queue (settled, whether or not Redis answers). */
  close(): Promise<unknown> {
    return Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }
}
