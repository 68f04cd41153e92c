/**
 * AlertDispatcher: the AlertSink that puts alert events on BullMQ queues.
 *
 * - Queues, job ids, deduplication and retention: alert-queues.ts.
 * - Every event is validated against gridgate.alert/v1 before it is enqueued (`validate`, default on;
 *   it is a compiled ajv function). An invalid event is logged and counted, never enqueued.
 * - emit() never throws into the engine. Events go out one at a time, in the order emitted. When an
 *   add fails (Redis unreachable or not answering within `addTimeoutMs`), that event and every one
 *   after it go to the outbox (outbox-file.ts: on disk, so a stop or a crash keeps them), and from
 *   then on new events go behind them until the outbox is empty again: an incident's events are
 *   never reordered, and since the whole stream keeps its order, neither are any two incidents'.
 *   The outbox is retried with backoff, and at once when the connection is ready again. Without an
 *   outbox (`outbox` unset) the same happens in a bounded in-memory FIFO that a stop or crash loses.
 * - emit() resolves once the event is in Redis or, while Redis is unreachable, on disk.
 * - stop() first puts everything still in memory into the outbox, then delivers what it can within
 *   `stopFlushMs`; what is left is sent by the next start, before anything new.
 */
import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';
import {
  type AlertRouting,
  allQueues,
  DEFAULT_ALERT_QUEUE,
  routeEvent,
} from '../../processors/alerts/routing.js';
import { validateAlertEvent } from '../../processors/alerts/validate.js';
import { AlertQueues } from './alert-queues.js';
import { closeConnection, type OwnedConnection, openConnection } from './connection.js';
import { within } from './deadline.js';
import type { AlertDispatcherOptions, DispatcherStats } from './dispatcher-options.js';
import { FileOutbox, type OutboxEntry } from './outbox-file.js';
import { RetryBackoff } from './retry-backoff.js';

export { type AlertRetention, DEFAULT_RETENTION } from './alert-queues.js';
export type { AlertDispatcherOptions, DispatcherStats } from './dispatcher-options.js';

interface Pending extends OutboxEntry {
  /** Resolves the emit() that made it: once in Redis, on disk, or (no outbox) held in memory. */
  settle?: () => void;
}

export class AlertDispatcher implements AlertSink {
  private readonly conn: OwnedConnection;
  private readonly log: Logger;
  private readonly routing: AlertRouting;
  private readonly queues: AlertQueues;
  private readonly validate: boolean;
  private readonly bufferLimit: number;
  private readonly stopFlushMs: number;
  private readonly outbox: FileOutbox | undefined;
  /** Waiting in memory, in emit order, all after whatever the outbox holds. */
  private readonly memory: Pending[] = [];
  private readonly retry: RetryBackoff;
  private pumping: Promise<void> | undefined;
  /** The last add failed and none has succeeded since. */
  private failing = false;
  private stopped = false;
  /** stop() is delivering what waits, within stopFlushMs. */
  private draining = false;
  private readonly counters = { enqueued: 0, invalid: 0, shadow: 0, failures: 0, dropped: 0 };

  constructor(opts: AlertDispatcherOptions) {
    this.log = opts.logger.child({ component: 'alert-dispatcher' });
    this.routing = {
      defaultQueue: opts.defaultQueue ?? DEFAULT_ALERT_QUEUE,
      routes: opts.routes ?? [],
      copyToDefault: opts.copyToDefault ?? false,
    };
    this.validate = opts.validate ?? true;
    this.bufferLimit = opts.bufferLimit ?? 10_000;
    this.retry = new RetryBackoff(opts.retryMinMs ?? 250, opts.retryMaxMs ?? 10_000);
    this.stopFlushMs = opts.stopFlushMs ?? 3000;
    // Opened before the connection: a folder another gateway holds stops the start here.
    this.outbox = opts.outbox ? new FileOutbox({ ...opts.outbox, logger: opts.logger }) : undefined;
    this.conn = openConnection(opts.connection, 'producer');
    this.queues = new AlertQueues({
      client: this.conn.client,
      log: this.log,
      prefix: opts.prefix,
      retention: opts.retention,
      attempts: opts.attempts,
      backoffMs: opts.backoffMs,
      dedupTtlMs: opts.dedupTtlMs,
      addTimeoutMs: opts.addTimeoutMs,
    });
    // ioredis emits 'error' on every failed reconnect; unhandled it would crash the process.
    this.conn.client.on('error', (err: Error) =>
      this.log.debug({ err: err.message }, 'redis connection error'),
    );
    // Redis is back: deliver now rather than at the end of the current backoff.
    this.conn.client.on('ready', () => {
      if (!this.failing || this.stopped) return;
      this.retry.cancel();
      this.kick();
    });
    for (const q of allQueues(this.routing)) this.queues.queue(q);
    // What the last run left in the outbox goes first.
    if ((this.outbox?.depth ?? 0) > 0) this.kick();
  }

  /** Every queue this dispatcher can send to. */
  queueNames(): string[] {
    return allQueues(this.routing);
  }

  stats(): DispatcherStats {
    const o = this.outbox?.stats();
    const memOldest = this.memory[0]?.at;
    const oldest = o?.oldestAt === undefined ? memOldest : Math.min(o.oldestAt, memOldest ?? o.oldestAt);
    return {
      ...this.counters,
      buffered: this.memory.length + (o?.depth ?? 0),
      outboxDepth: o?.depth ?? 0,
      outboxBytes: o?.bytes ?? 0,
      oldestWaitingAt: oldest,
      dropped: this.counters.dropped + (o?.dropped ?? 0),
    };
  }

  emit(event: AlertEvent): Promise<void> {
    try {
      if (event.shadow === true) {
        this.counters.shadow++;
        return Promise.resolve();
      }
      if (this.validate) {
        const v = validateAlertEvent(event);
        if (!v.ok) {
          this.counters.invalid++;
          this.log.error(
            { eventId: event.id, rule: event.rule?.id, errors: v.errors },
            'alert event fails gridgate.alert/v1, not enqueued',
          );
          return Promise.resolve();
        }
      }
      const at = Date.now();
      const queues = routeEvent(event, this.routing);
      return new Promise<void>((resolve) => {
        let left = queues.length;
        if (left === 0) resolve();
        for (const queue of queues) {
          const p: Pending = { queue, event, at };
          p.settle = () => {
            p.settle = undefined;
            if (--left === 0) resolve();
          };
          this.memory.push(p);
        }
        // Keep order: nothing overtakes what already waits in the outbox.
        if (this.holding()) this.park();
        this.kick();
      });
    } catch (err) {
      // Nothing above should throw; if it does, the engine must still not see it.
      this.log.error({ err, eventId: event.id }, 'alert dispatch failed');
      return Promise.resolve();
    }
  }

  /** Try to deliver everything waiting now; resolves when nothing waits or Redis failed again. */
  async flush(): Promise<void> {
    this.retry.cancel();
    this.kick();
    await this.pumping;
  }

  /**
   * Everything still in memory goes to the outbox first (so a stop cut short by the gateway's
   * bound loses nothing), then what waits is delivered for up to `stopFlushMs`; the rest stays in
   * the outbox for the next start. Bounded whatever state Redis is in.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.retry.cancel();
    this.park();
    await this.outbox?.sync().catch((err: unknown) => this.log.error({ err }, 'alert outbox sync failed'));
    if (this.waiting() > 0 && this.conn.client.status === 'ready') {
      this.draining = true;
      this.kick();
      await within(this.pumping ?? Promise.resolve(), this.stopFlushMs);
      this.draining = false;
    }
    const left = this.outbox?.depth ?? 0;
    if (left > 0) {
      this.log.warn({ outbox: left }, 'stopping with alert events in the outbox; the next start sends them');
    }
    this.outbox?.close();
    if (this.memory.length > 0) {
      this.log.error({ lost: this.memory.length }, 'stopping with alert events not delivered to Redis');
    }
    // A dead Redis must not hold the stop: close politely for a while, then cut the socket.
    const closed = this.queues.close().then(() => closeConnection(this.conn));
    if (!(await within(closed, 2000)) && this.conn.owned) this.conn.client.disconnect();
  }

  private waiting(): number {
    return this.memory.length + (this.outbox?.depth ?? 0);
  }

  /** Whether new events must go to the outbox rather than straight to Redis. */
  private holding(): boolean {
    return (
      this.failing ||
      this.stopped ||
      (this.outbox?.depth ?? 0) > 0 ||
      (this.outbox !== undefined && this.memory.length > this.bufferLimit)
    );
  }

  /** Move everything in memory to the outbox (in order, behind what it holds). */
  private park(): void {
    if (this.memory.length === 0) return;
    if (!this.outbox) {
      this.trim();
      for (const p of [...this.memory]) p.settle?.();
      return;
    }
    const moving = this.memory.splice(0);
    try {
      this.outbox.append(moving);
    } catch (err) {
      // Disk full, folder gone...: they wait in memory (bounded) and go to disk at the next park.
      this.memory.unshift(...moving);
      this.log.error(
        { err: (err as Error).message, waiting: this.memory.length },
        'alert outbox cannot be written; events wait in memory',
      );
      this.trim();
      for (const p of [...this.memory]) p.settle?.();
      return;
    }
    const done = () => {
      for (const p of moving) p.settle?.();
    };
    this.outbox.sync().then(done, (err: unknown) => {
      this.log.error({ err }, 'alert outbox sync failed');
      done();
    });
  }

  private trim(): void {
    while (this.memory.length > this.bufferLimit) {
      const lost = this.memory.shift() as Pending;
      this.counters.dropped++;
      lost.settle?.();
      this.log.error(
        { eventId: lost.event.id, incidentId: lost.event.incidentId, queue: lost.queue },
        'alert buffer full, dropping oldest event',
      );
    }
  }

  private kick(): void {
    if (this.pumping || this.retry.pending) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // Events emitted after the loop looked for more, before this ran, found it still busy.
      if (!this.failing && this.waiting() > 0 && (!this.stopped || this.draining)) this.kick();
    });
  }

  /** Deliver what waits, oldest first: the outbox, then memory. Stops at the first failure. */
  private async pump(): Promise<void> {
    let fromOutbox = 0;
    for (;;) {
      if (this.stopped && !this.draining) return;
      const stored = this.outbox?.peek();
      const p: Pending | undefined = stored ?? this.memory[0];
      if (!p) break;
      try {
        await this.add(p);
      } catch (err) {
        this.onAddFailed(err, p);
        return;
      }
      if (stored) {
        this.outbox?.shift(stored);
        fromOutbox++;
      } else if (this.memory[0] === p) {
        this.memory.shift();
      }
      // (An entry parked while its add was in flight is in the outbox too: sent again, deduplicated.)
      p.settle?.();
    }
    if (fromOutbox > 0) this.log.info({ delivered: fromOutbox }, 'alert outbox delivered to Redis');
  }

  private async add(entry: OutboxEntry): Promise<void> {
    await this.queues.add(entry);
    this.counters.enqueued++;
    this.failing = false;
    this.retry.reset();
  }

  private onAddFailed(err: unknown, p: OutboxEntry): void {
    this.counters.failures++;
    if (!this.failing) {
      this.log.warn(
        { err: (err as Error).message, queue: p.queue, eventId: p.event.id, waiting: this.waiting() },
        this.outbox
          ? 'alert enqueue failed, events wait in the outbox until Redis is reachable'
          : 'alert enqueue failed, buffering until Redis is reachable',
      );
    } else {
      this.log.debug({ err: (err as Error).message, waiting: this.waiting() }, 'alert retry failed');
    }
    this.failing = true;
    this.park();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    this.retry.schedule(() => this.kick());
  }
}
