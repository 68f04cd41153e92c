/**
 * AlertDispatcher: the AlertSink that puts alert events on BullMQ queues.
 *
 * - Job name = event type, jobId = event id. BullMQ ignores an add whose jobId already exists, but
 *   only while that job is retained; so each add also carries BullMQ's native `deduplication`
 *   {id: event.id, ttl} (checked atomically in the same Lua script as the add). The dedup key
 *   outlives job retention: a replayed event is never enqueued twice within `dedupTtlMs`
 *   (default 7 days), even after its job was completed and removed.
 * - Retention is bounded by age and count (completed 24 h / 10,000; failed 7 d / 50,000).
 * - Consumers get `attempts` with exponential backoff.
 * - Every event is validated against gridgate.alert/v1 before it is enqueued (`validate`, default on;
 *   it is a compiled ajv function). An invalid event is logged and counted, never enqueued.
 * - emit() never throws into the engine. When Redis is unreachable the (queue, event) pairs wait in
 *   a bounded in-memory FIFO (default 10,000; the oldest are dropped and counted when full) that is
 *   retried with backoff and flushed in order once Redis is back. Once anything is buffered, new
 *   events queue behind it so order is kept. A process crash loses the buffer: the engine's incident
 *   state in Redis is the durable record, this is only the delivery edge.
 */
import { type JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';
import {
  type AlertRoute,
  type AlertRouting,
  allQueues,
  DEFAULT_ALERT_QUEUE,
  routeEvent,
} from '../../processors/alerts/routing.js';
import { validateAlertEvent } from '../../processors/alerts/validate.js';
import {
  closeConnection,
  type OwnedConnection,
  openConnection,
  type RedisConnectionInput,
} from './connection.js';

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

export interface AlertDispatcherOptions {
  connection: RedisConnectionInput;
  logger: Logger;
  /** BullMQ key prefix (default `bull`). */
  prefix?: string;
  /** Default `gridgate-alerts`. */
  defaultQueue?: string;
  routes?: readonly AlertRoute[];
  /** Also send every event to the default queue, not only unmatched ones (default false). */
  copyToDefault?: boolean;
  retention?: Partial<AlertRetention>;
  /** Attempts a consumer gets per job (default 5), with exponential backoff from `backoffMs` (default 2 s). */
  attempts?: number;
  backoffMs?: number;
  /** How long a replayed event id is still recognised after its first add (default 7 days). */
  dedupTtlMs?: number;
  /** Validate each event against the schema before enqueueing (default true). */
  validate?: boolean;
  /** Max (queue, event) pairs held while Redis is unreachable (default 10,000). */
  bufferLimit?: number;
  /** Retry delay while Redis is unreachable: doubles from min to max (default 250 ms .. 10 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** An add that takes longer counts as failed and is buffered (default 5 s). */
  addTimeoutMs?: number;
}

export interface DispatcherStats {
  /** (queue, event) adds that Redis accepted (including ones BullMQ deduplicated). */
  enqueued: number;
  invalid: number;
  /** Shadow-mode events: never dispatched. */
  shadow: number;
  /** Failed add attempts (each retry counts). */
  failures: number;
  /** Currently waiting in memory for Redis. */
  buffered: number;
  /** Dropped because the buffer was full. */
  dropped: number;
}

interface Pending {
  queue: string;
  event: AlertEvent;
}

export class AlertDispatcher implements AlertSink {
  private readonly conn: OwnedConnection;
  private readonly log: Logger;
  private readonly routing: AlertRouting;
  private readonly queues = new Map<string, Queue>();
  private readonly jobOpts: JobsOptions;
  private readonly dedupTtlMs: number;
  private readonly validate: boolean;
  private readonly bufferLimit: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly prefix: string | undefined;
  private readonly addTimeoutMs: number;
  private readonly buffer: Pending[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private readonly counters = { enqueued: 0, invalid: 0, shadow: 0, failures: 0, dropped: 0 };

  constructor(opts: AlertDispatcherOptions) {
    this.log = opts.logger.child({ component: 'alert-dispatcher' });
    this.conn = openConnection(opts.connection, 'producer');
    // ioredis emits 'error' on every failed reconnect; unhandled it would crash the process.
    this.conn.client.on('error', (err: Error) =>
      this.log.debug({ err: err.message }, 'redis connection error'),
    );
    this.prefix = opts.prefix;
    this.routing = {
      defaultQueue: opts.defaultQueue ?? DEFAULT_ALERT_QUEUE,
      routes: opts.routes ?? [],
      copyToDefault: opts.copyToDefault ?? false,
    };
    const r = { ...DEFAULT_RETENTION, ...opts.retention };
    this.jobOpts = {
      removeOnComplete: { age: r.completedAgeS, count: r.completedCount },
      removeOnFail: { age: r.failedAgeS, count: r.failedCount },
      attempts: opts.attempts ?? 5,
      backoff: { type: 'exponential', delay: opts.backoffMs ?? 2000 },
    };
    this.dedupTtlMs = opts.dedupTtlMs ?? 7 * 24 * 3600 * 1000;
    this.validate = opts.validate ?? true;
    this.bufferLimit = opts.bufferLimit ?? 10_000;
    this.retryMinMs = opts.retryMinMs ?? 250;
    this.retryMaxMs = opts.retryMaxMs ?? 10_000;
    this.retryDelay = this.retryMinMs;
    this.addTimeoutMs = opts.addTimeoutMs ?? 5000;
    for (const q of allQueues(this.routing)) this.queue(q);
  }

  /** Every queue this dispatcher can send to. */
  queueNames(): string[] {
    return allQueues(this.routing);
  }

  stats(): DispatcherStats {
    return { ...this.counters, buffered: this.buffer.length };
  }

  async emit(event: AlertEvent): Promise<void> {
    try {
      if (event.shadow === true) {
        this.counters.shadow++;
        return;
      }
      if (this.validate) {
        const v = validateAlertEvent(event);
        if (!v.ok) {
          this.counters.invalid++;
          this.log.error(
            { eventId: event.id, rule: event.rule?.id, errors: v.errors },
            'alert event fails gridgate.alert/v1, not enqueued',
          );
          return;
        }
      }
      const pending = routeEvent(event, this.routing).map((queue) => ({ queue, event }));
      if (this.buffer.length > 0 || this.stopped) {
        // Keep order: nothing overtakes what is already waiting for Redis.
        for (const p of pending) this.hold(p);
        return;
      }
      for (const [i, p] of pending.entries()) {
        try {
          await this.add(p);
        } catch (err) {
          this.onAddFailed(err, p);
          for (const rest of pending.slice(i + 1)) this.hold(rest);
          return;
        }
      }
    } catch (err) {
      // Nothing above should throw; if it does, the engine must still not see it.
      this.log.error({ err, eventId: event.id }, 'alert dispatch failed');
    }
  }

  /** Try to deliver everything buffered now; resolves when the buffer is empty or Redis failed again. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Flush what can be flushed, then close the queues (and the connection if we opened it). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.buffer.length > 0 && this.conn.client.status === 'ready') await this.flush();
    if (this.buffer.length > 0) {
      this.log.error({ lost: this.buffer.length }, 'stopping with alert events not delivered to Redis');
    }
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    await closeConnection(this.conn);
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.conn.client,
        ...(this.prefix ? { prefix: this.prefix } : {}),
      });
      q.on('error', (err: Error) => this.log.debug({ err: err.message, queue: name }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  private async add({ queue, event }: Pending): Promise<void> {
    const adding = this.queue(queue).add(event.type, event, {
      ...this.jobOpts,
      jobId: event.id,
      deduplication: { id: event.id, ttl: this.dedupTtlMs },
    });
    // Before its first connection BullMQ waits for Redis to be ready instead of failing; bound that
    // wait. An add that still lands later is harmless: the retry carries the same jobId.
    await withTimeout(adding, this.addTimeoutMs);
    this.counters.enqueued++;
    this.retryDelay = this.retryMinMs;
  }

  private onAddFailed(err: unknown, p: Pending): void {
    this.counters.failures++;
    this.log.warn(
      { err: (err as Error).message, queue: p.queue, eventId: p.event.id, buffered: this.buffer.length + 1 },
      'alert enqueue failed, buffering until Redis is reachable',
    );
    this.buffer.unshift(p);
    this.trim();
    this.scheduleRetry();
  }

  private hold(p: Pending): void {
    this.buffer.push(p);
    this.trim();
    this.scheduleRetry();
  }

  private trim(): void {
    while (this.buffer.length > this.bufferLimit) {
      const lost = this.buffer.shift();
      this.counters.dropped++;
      this.log.error(
        { eventId: lost?.event.id, queue: lost?.queue },
        'alert buffer full, dropping oldest event',
      );
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, this.retryDelay);
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, this.retryMaxMs);
  }

  private async drain(): Promise<void> {
    const had = this.buffer.length;
    while (this.buffer.length > 0) {
      const p = this.buffer[0]!;
      try {
        await this.add(p);
        this.buffer.shift();
      } catch (err) {
        this.counters.failures++;
        this.log.debug(
          { err: (err as Error).message, buffered: this.buffer.length },
          'alert flush retry failed',
        );
        this.scheduleRetry();
        return;
      }
    }
    if (had > 0) this.log.info({ delivered: had }, 'alert buffer flushed to Redis');
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  p.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err);
      },
    );
  });
}
