import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { IntakeLog, type IntakeLogConfig, type IntakeRecord } from './intake-log.js';

/**
 * The least time between the starts of two syncs. Each sync costs CPU (the pool thread's wake-up,
 * the file system's journal commit) on the cores that parse; under load, syncing back to back
 * spends that for a handful of messages each time. Messages further apart than this are not delayed.
 */
const SYNC_GAP_MS = 2;

/**
 * The intake log as an MQTT edge thread uses it (edge-stream.ts): each QoS 1 message is appended
 * as it is taken in, and the socket it came on is corked, so the PUBACK the broker or client
 * library writes for it waits in the socket. At the end of the turn the turn's messages are
 * written as one record. With fsync `always` the sockets stay corked until a sync that covers the
 * record completes; that sync runs off the thread, which goes on parsing, and what arrives
 * meanwhile waits for the next sync (one in flight at a time, starting at least SYNC_GAP_MS after
 * the last, so a sync covers every turn since the last). A socket corked for two syncs is uncorked
 * twice (cork counts), so no PUBACK leaves before its message is on the disk. With `interval` or
 * `never` they leave at the end of the turn, once the record is written. A log that cannot be
 * opened or written is logged and given up: messages are then acknowledged as they are taken in,
 * as without one.
 */
export class IntakeEdge {
  #log: IntakeLog | undefined;
  /** Sockets corked for messages the next sync covers. */
  #corked = new Set<Writable>();
  #syncing = false;
  /** Set while the next sync waits for SYNC_GAP_MS to pass. */
  #gapTimer: NodeJS.Timeout | undefined;
  #lastSyncAt = Number.NEGATIVE_INFINITY;
  /** Every logged message numbered below this is in a batch handed over, or in the one gathering. */
  #seq = 0;

  constructor(
    cfg: IntakeLogConfig | undefined,
    private readonly logger: Logger,
  ) {
    if (!cfg) return;
    try {
      this.#log = new IntakeLog(cfg, logger);
      this.#seq = this.#log.committed;
    } catch (err) {
      logger.error(
        { err, dir: cfg.dir },
        'mqtt intake log could not be opened; QoS 1 messages are acknowledged before they are durable',
      );
    }
  }

  /** What a batch handed over now claims (MessagesBatch.seq); undefined without a log. */
  get seq(): number | undefined {
    return this.#log ? this.#seq : undefined;
  }

  /** A message taken in on `socket`; only QoS 1 and 2 are logged (QoS 0 is at most once by definition). */
  taken(topic: string, payload: Uint8Array, qos: number, socket: Writable): void {
    const log = this.#log;
    if (!log || qos === 0) return;
    log.append(topic, payload);
    if (!this.#corked.has(socket)) {
      socket.cork();
      this.#corked.add(socket);
    }
  }

  /** The turn's end: its messages to the log, then (once they are on disk) their acknowledgements. */
  commit(): void {
    const log = this.#log;
    if (log) {
      try {
        log.commit();
        this.#seq = log.committed;
      } catch (err) {
        this.#giveUp(err, 'write');
      }
    }
    if (this.#log?.syncEach) this.#syncNext();
    else this.#release();
  }

  #syncNext(): void {
    const log = this.#log;
    if (!log || this.#syncing || this.#corked.size === 0 || this.#gapTimer) return;
    const wait = this.#lastSyncAt + SYNC_GAP_MS - performance.now();
    if (wait > 0) {
      this.#gapTimer = setTimeout(() => {
        this.#gapTimer = undefined;
        this.#syncNext();
      }, wait);
      return;
    }
    this.#lastSyncAt = performance.now();
    const waiting = this.#corked;
    this.#corked = new Set();
    this.#syncing = true;
    log.sync((err) => {
      this.#syncing = false;
      if (err) this.#giveUp(err, 'sync');
      for (const s of waiting) s.uncork();
      // What was taken in meanwhile: written now, then the next sync.
      this.commit();
    });
  }

  #release(): void {
    for (const s of this.#corked) s.uncork();
    this.#corked.clear();
  }

  #giveUp(err: unknown, what: string): void {
    this.logger.error(
      { err },
      `mqtt intake log ${what} failed; QoS 1 messages are acknowledged before they are durable from now on`,
    );
    this.#log = undefined;
  }

  /** The gateway's side moved the checkpoint: what is wholly below goes. */
  settled(seq: number): void {
    this.#log?.settled(seq);
  }

  /** The records past the log's checkpoint, oldest first; `seq` follows them, then goes to the log's end. */
  *unsettled(): Generator<IntakeRecord> {
    const log = this.#log;
    if (!log) return;
    try {
      for (const record of log.unsettled()) {
        this.#seq = record.end;
        yield record;
      }
    } catch (err) {
      this.logger.error({ err }, 'mqtt intake log could not be read back to its end');
    }
    this.#seq = log.committed;
  }

  /**
   * Commits, syncs and closes (a sync in flight then uncorks its sockets as it ends); what is
   * unsettled stays for the next start.
   */
  close(): void {
    clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
    const log = this.#log;
    this.#log = undefined;
    try {
      log?.commit();
      log?.close();
    } catch (err) {
      this.logger.error({ err }, 'mqtt intake log close failed');
    }
    this.#release();
  }
}
