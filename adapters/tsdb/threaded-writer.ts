import type { Logger } from 'pino';
import type { Device, Reading } from '../../processors/types.js';
import { EMPTY_SPOOL_STATS, type SpoolStats } from '../fs/spool.js';
import { ThreadChannel } from '../threads/channel.js';
import type { InfluxWriterOptions, InfluxWriterStats, TsdbWriter, WriteErrorInfo } from './influx-writer.js';
import { LineBuffer } from './line-buffer.js';
import { ReadingBatchWriter } from './reading-batch.js';
import { Waiters } from './settled-lines.js';
import type { WriterAsks, WriterCalls, WriterThreadData, WriterThreadState } from './writer-protocol.js';
import { NO_WRITES } from './writer-types.js';

/** Lines handed to the thread at once at most (and never more than a batch); fewer wait at most HAND_OVER_MS. */
const MAX_LINES_PER_POST = 2000;
/**
 * A hand-over costs a few µs however small (a message, two buffers), and a socket read can be a
 * handful of messages: waiting a few ms gathers hundreds of lines per hand-over under load, while
 * adding next to nothing to the writer's own batching (tsdb.flushIntervalMs).
 */
const HAND_OVER_MS = 5;
/** How long stop() waits for the thread to flush and close before terminating it. */
const STOP_TIMEOUT_MS = 30_000;
const RESTART = { firstMs: 100, maxMs: 30_000, calmMs: 60_000 };

const EMPTY: WriterThreadState = { stats: NO_WRITES, spooledLines: 0, spool: EMPTY_SPOOL_STATS };

/**
 * InfluxWriter on a worker thread (writer-thread.ts), through the thread channel. Readings are
 * handed over every few ms taken apart into numbers (reading-batch.ts: numbered `measurement,tags`
 * prefixes and field values as doubles); the thread writes the line-protocol bytes, and runs the
 * influx client, HTTP, gzip, retries and the spool. While the thread has not taken the batches
 * before, readings gather into a bigger next batch. `ready` rejects when the thread cannot start
 * (a URL the client refuses). A thread that dies later (a bug, not bad input) is logged, counted
 * against what it held, reported as a write error, and restarted with backoff.
 */
export class ThreadedInfluxWriter implements TsdbWriter {
  /** Resolves once the first thread has its writer; rejects with the reason it could not. */
  readonly ready: Promise<void>;
  private readonly log: Logger;
  private readonly channel: ThreadChannel<WriterCalls, WriterAsks>;
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
  /** Lines per hand-over at most. */
  private readonly maxLines: number;
  /** settled() callers, by mark; a mark settles every one before it too. */
  private readonly marks = new Waiters();
  private lastMark = 0;
  /** The mark the pending readings carry when handed over (0: none). */
  private pendingMark = 0;

  constructor(opts: InfluxWriterOptions) {
    this.log = opts.logger.child({ component: 'influx-writer' });
    this.maxLines = Math.min(MAX_LINES_PER_POST, opts.batchSize);
    const { logger: _logger, onChange: _onChange, ...data } = opts;
    this.channel = new ThreadChannel<WriterCalls, WriterAsks>(
      {
        callerUrl: import.meta.url,
        module: 'writer-thread',
        name: 'tsdb writer thread',
        logger: this.log,
        restart: RESTART,
        stopTimeoutMs: STOP_TIMEOUT_MS,
      },
      () => {
        // A new thread knows no prefix or field numbers: the next batch defines them all again.
        this.pending.restart();
        return data satisfies WriterThreadData;
      },
    );
    this.channel.onItem = (name, v) => {
      if (name === 'state') this.state = v as WriterThreadState;
      else if (name === 'settled') this.marks.reached(v as number);
    };
    this.channel.onCredit = () => this.handOver();
    this.channel.onExit = (code) => this.exited(code);
    this.ready = this.channel.start().catch((err: Error) => {
      const e = new Error(`tsdb writer could not start: ${err.message}`, { cause: err });
      this.ownError = { message: e.message, at: Date.now() };
      throw e;
    });
    this.ready.catch(() => undefined); // the caller awaits it; nobody else must see an unhandled rejection
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
    if (this.pending.lines >= this.maxLines) this.handOver(true);
    else if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(this.handOver, HAND_OVER_MS);
    }
  }

  /**
   * A mark follows the readings written so far to the thread, which answers once they are in the
   * database or the spool. Readings lost with a thread that died are counted as failed; a later mark
   * (from the restarted thread) settles the marks before it.
   */
  settled(): Promise<void> {
    if (this.stopping) return this.stopping.catch(() => undefined);
    if (!this.channel.running) return Promise.resolve();
    const id = ++this.lastMark;
    const p = this.marks.until(id);
    if (this.pending.lines > 0) this.pendingMark = id;
    else this.channel.event('mark', id);
    return p;
  }

  async flush(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.handOver(true);
    if (this.channel.running)
      this.state = await this.channel.call('flush', undefined).catch(() => this.state);
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopThread();
    return this.stopping;
  }

  private async stopThread(): Promise<void> {
    this.handOver(true);
    await this.ready.catch(() => undefined);
    const last = (await this.channel.stop()) as WriterThreadState | undefined;
    if (last) this.state = last;
  }

  /**
   * What is pending goes to the thread, unless it has not taken the batches before (then more
   * gathers for a larger hand-over, sent on credit), or `force`: a hand-over never passes maxLines,
   * since the thread cannot split one across database batches.
   */
  private readonly handOver = (force = false): void => {
    this.scheduled = false;
    if (this.pending.lines === 0) return;
    if (!this.channel.running) {
      const batch = this.pending.take();
      this.failed += batch.lines; // none started, or between a thread's death and its restart
      this.pendingMark = 0;
      return;
    }
    if (!this.channel.canSend && !force) return;
    const batch = this.pending.take();
    if (this.pendingMark !== 0) {
      batch.mark = this.pendingMark;
      this.pendingMark = 0;
    }
    this.handed += batch.lines;
    this.channel.batch('readings', batch, [batch.ints, batch.nums]);
  };

  /** Whatever the thread still held (its batch, retry buffer) is gone: counted as failed. What reached the spool is on disk, and the next thread sends it. */
  private exited(code: number): Record<string, unknown> {
    const s = this.state.stats;
    const lost = Math.max(0, this.handed - s.linesWritten - s.linesFailed - s.linesSpooled);
    this.base = addStats(this.base, { ...s, linesFailed: s.linesFailed + lost });
    this.state = EMPTY;
    this.handed = 0;
    this.ownError = { message: `tsdb writer thread exited with code ${code}; restarting`, at: Date.now() };
    return { lost };
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
