import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Device, Reading } from '../../processors/types.js';
import { spawnSibling } from '../threads/spawn.js';
import type { InfluxWriterOptions, InfluxWriterStats, TsdbWriter } from './influx-writer.js';
import { LineBuffer } from './line-buffer.js';
import type { FromWriterThread, ToWriterThread, WriterThreadState } from './writer-protocol.js';

/** Lines handed to the thread at once at most; fewer wait at most HAND_OVER_MS. */
const MAX_LINES_PER_POST = 2000;
/**
 * A hand-over costs a few µs however small (postMessage, a fresh buffer), and a socket read can be
 * a handful of messages: waiting a few ms gathers hundreds of lines per hand-over under load, while
 * adding next to nothing to the writer's own batching (tsdb.flushIntervalMs, 1 s by default).
 */
const HAND_OVER_MS = 5;
/** How long stop() waits for the thread to flush and close before terminating it. */
const STOP_TIMEOUT_MS = 30_000;

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
};

/**
 * InfluxWriter on a worker thread. Lines are encoded here, straight to UTF-8 (LineBuffer, with its
 * per-device caches on this thread), and the buffer is transferred every few ms; the influx
 * client, HTTP, gzip, retries and the spool run on the thread (writer-thread.ts). Counters are mirrored back every
 * 100 ms and on each flush. If the thread dies (a bug, not bad input), it is logged and restarted;
 * what it held is counted as failed.
 */
export class ThreadedInfluxWriter implements TsdbWriter {
  private readonly opts: Omit<InfluxWriterOptions, 'spool'>;
  private readonly log: Logger;
  private worker: Worker;
  private readonly pending = new LineBuffer();
  private scheduled = false;
  private stopping = false;
  private state = EMPTY;
  /** Counters of threads that died (restarted), including what they held. */
  private base: InfluxWriterStats = EMPTY.stats;
  /** Counted on this thread: readings without a line, lines given after stop. */
  private skipped = 0;
  private failed = 0;
  /** Lines handed to the current thread that its counters do not account for yet. */
  private handed = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, () => void>();

  constructor(opts: Omit<InfluxWriterOptions, 'spool'>) {
    this.opts = opts;
    this.log = opts.logger.child({ component: 'influx-writer' });
    this.worker = this.spawn();
  }

  get stats(): Readonly<InfluxWriterStats> {
    return addStats(this.base, {
      ...this.state.stats,
      readingsSkipped: this.state.stats.readingsSkipped + this.skipped,
      linesFailed: this.state.stats.linesFailed + this.failed,
    });
  }

  get spooledLines(): number {
    return this.state.spooledLines;
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
    if (this.pending.lines >= MAX_LINES_PER_POST) this.handOver();
    else if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(this.handOver, HAND_OVER_MS);
    }
  }

  async flush(): Promise<void> {
    if (this.stopping) return; // stop() flushed; the thread is gone
    this.handOver();
    await this.request('flush');
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.handOver();
    this.stopping = true;
    const worker = this.worker;
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
    const { buffer, byteLength, lines } = this.pending.take();
    this.handed += lines;
    this.worker.postMessage({ t: 'lines', buffer, byteLength } satisfies ToWriterThread, [buffer]);
  };

  private request(t: 'flush' | 'stop'): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      this.waiting.set(id, resolve);
      this.send({ t, id });
    });
  }

  private send(msg: ToWriterThread): void {
    this.worker.postMessage(msg);
  }

  private spawn(): Worker {
    const { logger, ...rest } = this.opts;
    const worker = spawnSibling(import.meta.url, 'writer-thread', { ...rest, logLevel: logger.level });
    worker.on('message', (msg: FromWriterThread) => this.receive(msg));
    worker.on('error', (err) => this.log.error({ err }, 'tsdb writer thread failed'));
    worker.on('exit', (code) => this.exited(worker, code));
    // Never what keeps the process alive: stop() is what ends it.
    worker.unref();
    return worker;
  }

  private receive(msg: FromWriterThread): void {
    if (msg.t === 'log') {
      this.relog(msg.line);
      return;
    }
    this.state = { stats: msg.stats, spooledLines: msg.spooledLines };
    if (msg.t === 'flushed') {
      this.waiting.get(msg.id)?.();
      this.waiting.delete(msg.id);
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

  private exited(worker: Worker, code: number): void {
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
    if (this.stopping || worker !== this.worker) return;
    // Whatever the dead thread held (its batch, retry buffer, spool) is gone: count it as failed.
    const s = this.state.stats;
    const lost = Math.max(0, this.handed - s.linesWritten - s.linesFailed);
    this.log.error({ code, lost }, 'tsdb writer thread exited; restarting it');
    this.base = addStats(this.base, { ...s, linesFailed: s.linesFailed + lost });
    this.handed = 0;
    this.state = EMPTY;
    this.worker = this.spawn();
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
