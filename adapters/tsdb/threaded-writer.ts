import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Device, Reading } from '../../processors/types.js';
import { spawnSibling } from '../threads/spawn.js';
import type { InfluxWriterOptions, InfluxWriterStats, TsdbWriter, WriteErrorInfo } from './influx-writer.js';
import { LineBuffer } from './line-buffer.js';
import { ReadingBatchWriter } from './reading-batch.js';
import { EMPTY_SPOOL_STATS, type SpoolStats } from './spool.js';
import type { FromWriterThread, ToWriterThread, WriterThreadState } from './writer-protocol.js';

/** Lines handed to the thread at once at most (and never more than a batch); fewer wait at most HAND_OVER_MS. */
const MAX_LINES_PER_POST = 2000;
/**
 * A hand-over costs a few µs however small (postMessage, a buffer), and a socket read can be a
 * handful of messages: waiting a few ms gathers hundreds of lines per hand-over under load, while
 * adding next to nothing to the writer's own batching (tsdb.flushIntervalMs, 1 s by default).
 */
const HAND_OVER_MS = 5;
/** How long stop() waits for the thread to flush and close before terminating it. */
const STOP_TIMEOUT_MS = 30_000;
/** Restart delay after a thread dies: doubling from the first to the last, reset after a calm minute. */
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 30_000;
const CALM_MS = 60_000;

const EMPTY: WriterThreadState = {
  stats: {
    linesWritten: 0,
    linesFailed: 0,
    batchesFailed: 0,
    linesSpooled: 0,
    readingsSkipped: 0,
    lastError: undefined,
  },
  spooledLines: 0,
  spool: EMPTY_SPOOL_STATS,
};

/**
 * InfluxWriter on a worker thread. Readings are handed over every few ms taken apart into numbers
 * (reading-batch.ts: numbered `measurement,tags` prefixes, from this thread's per-device caches,
 * and field values as doubles); the thread writes the line-protocol bytes. The influx client, HTTP, gzip,
 * retries and the spool run on the thread (writer-thread.ts), which mirrors its counters back
 * whenever they change. `ready` rejects when the thread cannot start (e.g. a URL the client
 * refuses). A thread that dies later (a bug, not bad input) is logged, counted against what it held,
 * reported as a write error, and restarted with backoff; lines meanwhile are counted as failed.
 */
export class ThreadedInfluxWriter implements TsdbWriter {
  /** Resolves once the first thread has its writer; rejects with the reason it could not. */
  readonly ready: Promise<void>;
  private readonly opts: InfluxWriterOptions;
  private readonly log: Logger;
  private worker: Worker | undefined;
  private workerReady = false;
  private startedAt = 0;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly pending = new ReadingBatchWriter();
  private scheduled = false;
  private stopping: Promise<void> | undefined;
  private state = EMPTY;
  /** Counters of threads that died, including what they held. */
  private base: InfluxWriterStats = EMPTY.stats;
  /** Counted on this thread: readings without a line; lines given after stop or while no thread runs. */
  private skipped = 0;
  private failed = 0;
  private ownError: WriteErrorInfo | undefined;
  /** Lines handed to the current thread. */
  private handed = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, () => void>();
  private settleReady: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(opts: InfluxWriterOptions) {
    this.opts = opts;
    this.log = opts.logger.child({ component: 'influx-writer' });
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => undefined); // the caller awaits it; nobody else must see an unhandled rejection
    this.worker = this.spawn();
  }

  get stats(): Readonly<InfluxWriterStats> {
    const s = addStats(this.base, this.state.stats);
    const errors = [s.lastError, this.ownError].filter((e): e is WriteErrorInfo => e !== undefined);
    return {
      ...s,
      readingsSkipped: s.readingsSkipped + this.skipped,
      linesFailed: s.linesFailed + this.failed,
      lastError: errors.sort((a, b) => b.at - a.at)[0],
    };
  }

  get spooledLines(): number {
    return this.state.spooledLines;
  }

  /** The spool is a folder on disk: a restarted thread opens it again and sends what it holds. */
  get spoolStats(): Readonly<SpoolStats> {
    return this.state.spool;
  }

  write(reading: Reading, _device?: Device): void {
    if (this.stopping) {
      if (LineBuffer.hasLine(reading)) this.failed++;
      else this.skipped++;
      return;
    }
    if (!this.pending.append(reading)) {
      this.skipped++;
      return;
    }
    if (this.pending.lines >= Math.min(MAX_LINES_PER_POST, this.opts.batchSize)) this.handOver();
    else if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(this.handOver, HAND_OVER_MS);
    }
  }

  async flush(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.handOver();
    await this.request('flush');
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopThread();
    return this.stopping;
  }

  private async stopThread(): Promise<void> {
    this.handOver();
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const timeout = setTimeout(() => {
      this.log.error({ timeoutMs: STOP_TIMEOUT_MS }, 'tsdb writer thread did not stop in time; terminated');
      void worker.terminate();
    }, STOP_TIMEOUT_MS);
    await Promise.race([this.request('stop'), exited]);
    await exited;
    clearTimeout(timeout);
  }

  private readonly handOver = (): void => {
    this.scheduled = false;
    if (this.pending.lines === 0) return;
    const batch = this.pending.take();
    if (!this.worker) {
      this.failed += batch.lines; // between a thread's death and its restart
      return;
    }
    this.handed += batch.lines;
    this.worker.postMessage({ t: 'readings', batch } satisfies ToWriterThread, [batch.ints, batch.nums]);
  };

  private request(t: 'flush' | 'stop'): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ t, id } satisfies ToWriterThread);
    });
  }

  private spawn(): Worker {
    const { logger, ...rest } = this.opts;
    const worker = spawnSibling(import.meta.url, 'writer-thread', { ...rest, logLevel: logger.level });
    // A new thread knows no prefix or field numbers: the next batch defines them all again.
    this.pending.restart();
    let failure: Error | undefined;
    this.workerReady = false;
    this.startedAt = Date.now();
    worker.on('message', (msg: FromWriterThread) => this.receive(msg));
    worker.on('error', (err) => {
      failure = err;
      this.log.error({ err }, 'tsdb writer thread failed');
    });
    worker.on('exit', (code) => this.exited(worker, code, failure));
    // Never what keeps the process alive: stop() is what ends it.
    worker.unref();
    return worker;
  }

  private receive(msg: FromWriterThread): void {
    switch (msg.t) {
      case 'log':
        this.relog(msg.line);
        return;
      case 'ready':
        this.workerReady = true;
        this.settleReady?.resolve();
        return;
      case 'state':
      case 'flushed':
        this.state = { stats: msg.stats, spooledLines: msg.spooledLines, spool: msg.spool };
        if (msg.t === 'flushed') {
          this.waiting.get(msg.id)?.();
          this.waiting.delete(msg.id);
        }
    }
  }

  /** A pino line from the thread, logged again here at its level (with this logger's redaction and format). */
  private relog(line: string): void {
    try {
      const {
        level,
        time: _time,
        msg,
        ...fields
      } = JSON.parse(line) as { level: number; time?: number; msg?: string };
      const label = this.opts.logger.levels.labels[level] ?? 'info';
      (this.opts.logger[label as 'info'] as (o: object, m?: string) => void).call(
        this.opts.logger,
        fields,
        msg,
      );
    } catch (err) {
      this.log.warn({ err }, 'unreadable log line from the tsdb writer thread');
    }
  }

  private exited(worker: Worker, code: number, failure: Error | undefined): void {
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
    if (worker !== this.worker) return;
    this.worker = undefined;
    // Whatever the thread still held (its batch, retry buffer) is gone: count it as failed. What
    // reached the spool is on disk, and the next thread sends it.
    const s = this.state.stats;
    const lost = code === 0 ? 0 : Math.max(0, this.handed - s.linesWritten - s.linesFailed - s.linesSpooled);
    this.base = addStats(this.base, { ...s, linesFailed: s.linesFailed + lost });
    this.state = EMPTY;
    this.handed = 0;
    if (!this.workerReady) {
      // It never started: a setting the client refuses. Restarting would only fail again.
      const err = new Error(
        `tsdb writer could not start: ${failure?.message ?? `thread exited with code ${code}`}`,
        {
          cause: failure,
        },
      );
      this.ownError = { message: err.message, at: Date.now() };
      this.settleReady?.reject(err);
      return;
    }
    if (this.stopping) {
      if (lost > 0) this.log.error({ code, lost }, 'tsdb writer thread ended without a clean stop');
      return;
    }
    if (Date.now() - this.startedAt > CALM_MS) this.restarts = 0;
    const delay = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** this.restarts++);
    this.ownError = { message: `tsdb writer thread exited with code ${code}; restarting`, at: Date.now() };
    this.log.error({ code, lost, restartInMs: delay }, 'tsdb writer thread exited; restarting it');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.worker = this.spawn();
    }, delay);
  }
}

function addStats(a: InfluxWriterStats, b: InfluxWriterStats): InfluxWriterStats {
  return {
    linesWritten: a.linesWritten + b.linesWritten,
    linesFailed: a.linesFailed + b.linesFailed,
    batchesFailed: a.batchesFailed + b.batchesFailed,
    linesSpooled: a.linesSpooled + b.linesSpooled,
    readingsSkipped: a.readingsSkipped + b.readingsSkipped,
    lastError: b.lastError ?? a.lastError,
  };
}
