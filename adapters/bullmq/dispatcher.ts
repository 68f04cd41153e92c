/**
 * AlertDispatcher: the AlertSink that puts alert events on BullMQ queues.
 *
 * - One Queue per queue name, on one producer connection. Job name = event type, jobId = event id.
 *   BullMQ ignores an add whose jobId already exists, but only while that job is retained; so each
 *   add also carries BullMQ's native `deduplication` {id: event.id, ttl} (checked atomically in the
 *   same Lua script as the add). The dedup key outlives job retention: a replayed event is never
 *   enqueued twice within DEDUP_TTL_MS, even after its job was completed and removed. This is what
 *   makes re-sending safe: an event sent again after a crash between its add and the outbox moving
 *   past it reaches consumers once.
 * - Retention is bounded by age and count (DEFAULT_RETENTION); consumers get a few attempts with
 *   exponential backoff.
 * - Every event is validated against gridgate.alert/v1 (a compiled ajv function) before it is
 *   enqueued. An invalid event is logged and counted, never enqueued.
 * - emit() never throws into the engine. Events go out one at a time, in the order emitted. When an
 *   add fails (Redis unreachable or not answering within `addTimeoutMs`), that event and every one
 *   after it go to the outbox (a disk spool of JSON lines, outbox-lines.ts: a stop or a crash keeps
 *   them), and from then on new events go behind them until the outbox is empty again: an
 *   incident's events are never reordered, and since the whole stream keeps its order, neither are
 *   any two incidents'. The outbox is retried with backoff, and at once when the connection is
 *   ready again. While the outbox cannot be written, events wait in a bounded in-memory FIFO.
 * - emit() resolves once the event is in Redis or, while Redis is unreachable, synced to disk.
 * - stop() first puts everything still in memory into the outbox, then delivers what it can within
 *   `stopFlushMs`; what is left is sent by the next start, before anything new.
 */
import { type JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';
import {
  type AlertRouting,
  allQueues,
  DEFAULT_ALERT_QUEUE,
  routeEvent,
} from '../../processors/alerts/routing.js';
import { validateAlertEvent } from '../../processors/alerts/validate.js';
import type { DiskSpool } from '../fs/disk-spool.js';
import { closeConnection, type OwnedConnection, openConnection } from './connection.js';
import { within } from './deadline.js';
import {
  type AlertDispatcherOptions,
  DEFAULT_RETENTION,
  type DispatcherStats,
} from './dispatcher-options.js';
import {
  decodeEntries,
  encodeEntries,
  type OutboxEntry,
  openOutbox,
  reportOldSegments,
} from './outbox-lines.js';
import { RetryBackoff } from './retry-backoff.js';

/** How long a replayed event id is still recognised after its first add. */
const DEDUP_TTL_MS = 7 * 24 * 3600 * 1000;

interface Pending extends OutboxEntry {
  /** Resolves the emit() that made it: once in Redis, on disk, or (no outbox) held in memory. */
  settle?: () => void;
}

export class AlertDispatcher implements AlertSink {
  private readonly conn: OwnedConnection;
  private readonly log: Logger;
  private readonly routing: AlertRouting;
  private readonly queues = new Map<string, Queue>();
  private readonly prefix: string;
  private readonly jobOpts: JobsOptions;
  private readonly addTimeoutMs: number;
  private readonly bufferLimit: number;
  private readonly stopFlushMs: number;
  private readonly outbox: DiskSpool;
  /** Waiting in memory, in emit order, all after whatever the outbox holds. */
  private readonly memory: Pending[] = [];
  /** Moves of memory into the outbox, one at a time in order; `parks` counts those not done. */
  private parking: Promise<void> = Promise.resolve();
  private parks = 0;
  /** Settles once the outbox is open (or could not be). */
  private readonly opened: Promise<void>;
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
    };
    this.prefix = opts.prefix ?? 'bull';
    const r = { ...DEFAULT_RETENTION, ...opts.retention };
    this.jobOpts = {
      removeOnComplete: { age: r.completedAgeS, count: r.completedCount },
      removeOnFail: { age: r.failedAgeS, count: r.failedCount },
      attempts: 5,
      backoff: { type: 'exponential', delay: 2000 },
    };
    this.addTimeoutMs = opts.addTimeoutMs ?? 5000;
    this.bufferLimit = opts.bufferLimit ?? 10_000;
    this.retry = new RetryBackoff(opts.retryMinMs ?? 250, opts.retryMaxMs ?? 10_000);
    this.stopFlushMs = opts.stopFlushMs ?? 3000;
    reportOldSegments(opts.outbox.dir, this.log);
    this.outbox = openOutbox(opts.outbox, opts.logger);
    this.conn = openConnection(opts.connection, 'producer', this.log);
    this.conn.client.on('ready', this.onReady);
    // What the last run left in the outbox goes first: nothing is sent before it is counted.
    this.opened = this.outbox.ready.then(
      () => this.kick(),
      (err: unknown) =>
        this.log.error({ err }, 'alert outbox cannot be opened; events that wait stay in memory'),
    );
  }

  /** Resolves once the outbox is open and what an earlier run left is counted; rejects if it cannot be. */
  get ready(): Promise<void> {
    return this.outbox.ready;
  }

  /** Redis is back: deliver now rather than at the end of the current backoff. */
  private readonly onReady = (): void => {
    if (!this.failing || this.stopped) return;
    this.retry.cancel();
    this.kick();
  };

  /** Every queue this dispatcher can send to. */
  queueNames(): string[] {
    return allQueues(this.routing);
  }

  stats(): DispatcherStats {
    const o = this.outbox.stats;
    return {
      ...this.counters,
      buffered: this.memory.length + o.lines,
      outboxDepth: o.lines,
      outboxBytes: o.bytes,
      // Memory holds only events emitted after everything in the outbox.
      oldestWaitingAt: o.oldestAt ?? this.memory[0]?.at,
      dropped: this.counters.dropped + o.droppedLines,
    };
  }

  emit(event: AlertEvent): Promise<void> {
    try {
      if (event.shadow === true) {
        this.counters.shadow++;
        return Promise.resolve();
      }
      const v = validateAlertEvent(event);
      if (!v.ok) {
        this.counters.invalid++;
        this.log.error(
          { eventId: event.id, rule: event.rule?.id, errors: v.errors },
          'alert event fails gridgate.alert/v1, not enqueued',
        );
        return Promise.resolve();
      }
      const at = Date.now();
      const held = routeEvent(event, this.routing).map(
        (queue) => new Promise<void>((settle) => this.memory.push({ queue, event, at, settle })),
      );
      // Keep order: nothing overtakes what already waits in the outbox.
      if (this.holding()) this.park();
      this.kick();
      return Promise.all(held).then(() => {});
    } catch (err) {
      // Nothing above should throw; if it does, the engine must still not see it.
      this.log.error({ err, eventId: event.id }, 'alert dispatch failed');
      return Promise.resolve();
    }
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
    await this.parking;
    if (this.waiting() > 0 && this.conn.client.status === 'ready') {
      this.draining = true;
      this.kick();
      await within(this.pumping ?? Promise.resolve(), this.stopFlushMs);
      this.draining = false;
    }
    const left = this.outbox.lines;
    if (left > 0) {
      this.log.warn({ outbox: left }, 'stopping with alert events in the outbox; the next start sends them');
    }
    await this.outbox.close();
    if (this.memory.length > 0) {
      this.log.error({ lost: this.memory.length }, 'stopping with alert events not delivered to Redis');
    }
    this.conn.client.off('ready', this.onReady);
    // A dead Redis must not hold the stop: close politely for a while, then cut the socket.
    const queues = Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    const closed = queues.then(() => closeConnection(this.conn));
    if (!(await within(closed, 2000)) && this.conn.owned) this.conn.client.disconnect();
  }

  private waiting(): number {
    return this.memory.length + this.outbox.lines;
  }

  /** Whether new events must go to the outbox rather than straight to Redis. */
  private holding(): boolean {
    return (
      this.failing ||
      this.stopped ||
      this.parks > 0 ||
      this.outbox.lines > 0 ||
      this.memory.length > this.bufferLimit
    );
  }

  /**
   * Move everything in memory to the outbox, behind what it holds. Moves run one at a time, each
   * taking what memory holds when it runs: events a failed move put back stay ahead of later ones.
   * When the outbox cannot be written, events stay in memory, the oldest dropped past `bufferLimit`.
   */
  private park(): void {
    if (this.memory.length === 0) return;
    this.parks++;
    this.parking = this.parking.then(async () => {
      await this.parkNow();
      this.parks--;
    });
  }

  private async parkNow(): Promise<void> {
    const moving = this.memory.splice(0);
    if (moving.length === 0) return;
    try {
      await this.outbox.push(encodeEntries(moving));
      for (const p of moving) p.settle?.();
      return;
    } catch (err) {
      // Disk full, folder gone...: they wait in memory (bounded) and go to disk at the next park.
      this.memory.unshift(...moving);
      this.log.error(
        { err: (err as Error).message, waiting: this.memory.length },
        'alert outbox cannot be written; events wait in memory',
      );
    }
    while (this.memory.length > this.bufferLimit) {
      const lost = this.memory.shift() as Pending;
      this.counters.dropped++;
      lost.settle?.();
      this.log.error(
        { eventId: lost.event.id, incidentId: lost.event.incidentId, queue: lost.queue },
        'alert buffer full, dropping oldest event',
      );
    }
    for (const p of this.memory) p.settle?.();
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
    await this.opened;
    for (;;) {
      await this.parking;
      if (this.stopped && !this.draining) return;
      if (this.outbox.lines > 0) {
        if (!(await this.pumpOutbox())) return;
        continue;
      }
      const p = this.memory[0];
      if (!p) return;
      try {
        await this.add(p);
      } catch (err) {
        this.onAddFailed(err, p);
        return;
      }
      if (this.memory[0] === p) this.memory.shift();
      // (An entry parked while its add was in flight is in the outbox too: sent again, deduplicated.)
      p.settle?.();
    }
  }

  /**
   * The outbox's records, oldest first; false when an add failed. A record leaves the outbox once
   * all its events are in Redis: one cut short is sent whole again, and BullMQ deduplicates.
   */
  private async pumpOutbox(): Promise<boolean> {
    let delivered = 0;
    try {
      for await (const batch of this.outbox.drain()) {
        const entries = decodeEntries(batch.body, (line) =>
          this.log.error({ line: line.slice(0, 200) }, 'alert outbox line unreadable, skipped'),
        );
        for (const entry of entries) {
          try {
            await this.add(entry);
          } catch (err) {
            this.onAddFailed(err, entry);
            return false;
          }
        }
        delivered += batch.lines;
        if (this.stopped && !this.draining) return false;
      }
      // Nothing to read while the outbox counts events would spin this loop: never expected.
      if (delivered === 0 && this.outbox.lines > 0)
        throw new Error('alert outbox counts events it does not yield');
      return true;
    } catch (err) {
      // A read error of the disk: try again later rather than spin.
      this.log.error({ err }, 'alert outbox cannot be read');
      if (!this.stopped) this.retry.schedule(() => this.kick());
      return false;
    } finally {
      if (delivered > 0) this.log.info({ delivered }, 'alert outbox delivered to Redis');
    }
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      // No 'error' listener: a Queue only passes on its connection's errors, logged where it is opened.
      q = new Queue(name, { connection: this.conn.client, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  /** Rejects when Redis fails or does not answer within `addTimeoutMs`. */
  private async add({ queue, event }: OutboxEntry): Promise<void> {
    const adding = this.queue(queue).add(event.type, event, {
      ...this.jobOpts,
      jobId: event.id,
      deduplication: { id: event.id, ttl: DEDUP_TTL_MS },
    });
    // Before its first connection BullMQ waits for Redis to be ready instead of failing; bound that
    // wait. An add that still lands later is harmless: the retry carries the same jobId, and it was
    // the oldest waiting event, so it cannot land behind a later one.
    if (!(await within(adding, this.addTimeoutMs))) {
      throw new Error(`redis did not answer within ${this.addTimeoutMs} ms`);
    }
    await adding;
    this.counters.enqueued++;
    this.failing = false;
    this.retry.reset();
  }

  private onAddFailed(err: unknown, p: OutboxEntry): void {
    this.counters.failures++;
    if (!this.failing) {
      this.log.warn(
        { err: (err as Error).message, queue: p.queue, eventId: p.event.id, waiting: this.waiting() },
        'alert enqueue failed, events wait in the outbox until Redis is reachable',
      );
    } else {
      this.log.debug({ err: (err as Error).message, waiting: this.waiting() }, 'alert retry failed');
    }
    this.failing = true;
    this.park();
    if (!this.stopped) this.retry.schedule(() => this.kick());
  }
}
