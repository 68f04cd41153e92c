import {
  HttpError,
  InfluxDB,
  type SendOptions,
  setLogger,
  type Transport,
} from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import type { Device, Reading } from '../../processors/types.js';
import { DiskSpool } from '../fs/disk-spool.js';
import type { LineBatch, SpoolStats } from '../fs/spool.js';
import { LineBuffer } from './line-buffer.js';
import { SettledLines } from './settled-lines.js';
import { describeWriteError, postLines } from './write-request.js';
import type { InfluxWriterOptions, InfluxWriterStats, TsdbWriter } from './writer-types.js';
import { NO_WRITES } from './writer-types.js';

export type { InfluxWriterOptions, InfluxWriterStats, TsdbWriter, WriteErrorInfo } from './writer-types.js';

/** HTTP timeout per write, and how long flush() waits for the answers at most. */
const REQUEST_TIMEOUT_MS = 10_000;

interface Attempt extends LineBatch {
  /** Its lines in SettledLines. */
  readonly run: { readonly from: number };
}

/**
 * Readings -> batches of line protocol (precision ms) POSTed through the influx client's transport
 * (write-request.ts). A batch goes as soon as no request is in flight (at the end of the event-loop
 * turn that brought the lines); while one is, lines gather into the next, which goes when it
 * answers, at batchSize lines, or after flushIntervalMs, whichever comes first. So batches are as
 * large as the database's own speed makes them: small and immediate when it keeps up, large under
 * load, and a burst's last readings wait one request, not a timer. While the database fails, the
 * timer alone paces batches (no burst of small failing requests into the spool), or the server's
 * Retry-After when it sent one. A batch that fails for a reason a retry may mend (network, 429,
 * 5xx) goes to the disk spool at once and is re-sent from there, oldest first, once a write
 * succeeds again (or on the spool timer): it is durable as soon as it failed, so nothing waits in
 * memory through an outage, and whoever waits on settled() (the MQTT intake log, an HJ 212 9014)
 * is answered within one request. A 4xx other than 429 means the data itself was refused: counted
 * as failed, never retried. Never throws into the pipeline.
 */
export class InfluxWriter implements TsdbWriter {
  private readonly transport: Transport;
  private readonly path: string;
  private readonly sendOptions: SendOptions;
  private readonly spool: DiskSpool;
  private readonly log: Logger;
  /** Lines from write(), encoded here; chunks from writeBytes() wait beside them. */
  private readonly encoder = new LineBuffer(64 * 1024);
  private chunks: Uint8Array[] = [];
  private pendingLines = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private cutSoon: NodeJS.Immediate | undefined;
  /** Requests to the database not yet answered. */
  private requests = 0;
  /** The last request was written: batches go as soon as none is in flight. */
  private healthy = true;
  /** No batch goes before this (epoch ms): the database's Retry-After. */
  private pausedUntil = 0;
  private spoolTimer: NodeJS.Timeout | undefined;
  /** The spool drain under way, if any. */
  private drainRun: Promise<void> | undefined;
  private stopped = false;
  /** Which lines are finished with (written, spooled or dropped): what settled() and flush() wait on. */
  private readonly lines = new SettledLines();
  private readonly counters: InfluxWriterStats = { ...NO_WRITES };

  constructor(private readonly opts: InfluxWriterOptions) {
    this.log = opts.logger.child({ component: 'influx-writer' });
    // The influx client logs through one process-wide logger (console by default): its warnings go
    // to debug and its errors to warn, since every failed write is logged below with its cause.
    setLogger({
      error: (message: string, err?: unknown) => this.log.warn({ err }, `influx client: ${message}`),
      warn: (message: string, err?: unknown) => this.log.debug({ err }, `influx client: ${message}`),
    });
    this.spool = new DiskSpool({
      ...opts.spool,
      logger: opts.logger,
      what: 'tsdb spool',
      setting: 'tsdb.spool.dir',
    });
    // What an earlier run left is sent as soon as it is counted (and the database answers).
    this.spool.ready.then(
      () => this.drainSpool(),
      (err: unknown) => {
        this.log.error({ err, dir: opts.spool.dir }, 'spool could not be opened; failed batches are lost');
        // The thread's side learns of it (SpoolStats.openError) now, not with the next batch.
        opts.onChange?.();
      },
    );
    // The client checks the URL and options here: a bad one throws before anything is sent.
    this.transport = new InfluxDB({
      url: opts.url,
      token: opts.token,
      timeout: REQUEST_TIMEOUT_MS,
    }).transport;
    this.path = `/api/v2/write?org=${encodeURIComponent(opts.org)}&bucket=${encodeURIComponent(opts.bucket)}&precision=ms`;
    this.sendOptions = {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      gzipThreshold: opts.gzip === false ? Number.POSITIVE_INFINITY : 1000,
    };
    this.spoolTimer = setInterval(() => this.drainSpool(), opts.spoolRetryMs ?? 10_000);
    this.spoolTimer.unref();
  }

  get stats(): Readonly<InfluxWriterStats> {
    return { ...this.counters, linesFailed: this.counters.linesFailed + this.spool.stats.droppedLines };
  }

  /** Lines waiting in the spool. */
  get spooledLines(): number {
    return this.spool.lines;
  }

  get spoolStats(): Readonly<SpoolStats> {
    return this.spool.stats;
  }

  /**
   * Resolves once every line given before the call is written to the database, held by the spool
   * (as its fsync policy says), or given up (refused as invalid, counted in linesFailed).
   */
  settled(): Promise<void> {
    return this.lines.after();
  }

  write(reading: Reading, _device?: Device): void {
    if (this.stopped) {
      if (LineBuffer.hasLine(reading)) this.counters.linesFailed++;
      else this.counters.readingsSkipped++;
      return;
    }
    if (this.encoder.append(reading)) this.added(1);
    else this.counters.readingsSkipped++;
  }

  /** Lines already encoded (LineBuffer's format: UTF-8, each ending in \n), e.g. on another thread. */
  writeBytes(chunk: Uint8Array, lines: number): void {
    if (this.stopped) {
      this.counters.linesFailed += lines;
      return;
    }
    if (this.pendingLines > 0 && this.pendingLines + lines > this.opts.batchSize) this.cut();
    this.takeEncoded();
    this.chunks.push(chunk);
    this.added(lines);
  }

  /**
   * Send what is buffered and wait for the answers (bounded by one request timeout); what fails
   * meanwhile is in the spool when this returns. Failures are counted, never thrown.
   */
  async flush(): Promise<void> {
    this.cut();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, REQUEST_TIMEOUT_MS);
    });
    // Spooled lines are finished once on disk (as the fsync policy says).
    await Promise.race([this.lines.after(), late]);
    clearTimeout(timer);
  }

  /** Flush, then stop. What the spool still holds stays on disk for the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    clearInterval(this.spoolTimer);
    this.spoolTimer = undefined;
    await this.flush();
    this.stopped = true;
    this.lines.releaseAll();
    // A spooled batch being re-sent finishes (bounded by the request timeout) before the files close.
    await this.drainRun;
    await this.spool.close().catch((err: unknown) => this.log.error({ err }, 'spool close failed'));
    if (this.spool.lines > 0)
      this.log.warn(
        { lines: this.spool.lines },
        'influx writer stopped with lines in the spool; they are sent after the next start',
      );
  }

  private added(lines: number): void {
    this.lines.received(lines);
    this.pendingLines += lines;
    if (this.pendingLines >= this.opts.batchSize) this.cut();
    else if (this.requests === 0 && this.healthy) this.cutSoon ??= setImmediate(this.cutNow);
    else if (this.batchTimer === undefined) {
      const wait = Math.max(this.opts.flushIntervalMs, this.pausedUntil - Date.now());
      this.batchTimer = setTimeout(this.cutNow, wait);
    }
  }

  private readonly cutNow = (): void => this.cut();

  /** Lines encoded by write() join the chunks, in order. */
  private takeEncoded(): void {
    if (this.encoder.lines === 0) return;
    const { buffer, byteLength } = this.encoder.take();
    this.chunks.push(new Uint8Array(buffer, 0, byteLength));
  }

  /** The buffered lines become one batch, sent now. */
  private cut(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    clearImmediate(this.cutSoon);
    this.cutSoon = undefined;
    if (this.pendingLines === 0) return;
    this.takeEncoded();
    const body = this.chunks.length === 1 ? (this.chunks[0] as Uint8Array) : Buffer.concat(this.chunks);
    const lines = this.pendingLines;
    this.chunks = [];
    this.pendingLines = 0;
    const run = this.lines.cut(lines);
    this.send({ body, lines, run });
  }

  private send(attempt: Attempt): void {
    this.requests++;
    void this.post(attempt).then(
      () => {
        this.answered(true);
        this.lines.finished(attempt.run);
        if (this.spool.lines > 0) this.drainSpool();
      },
      (err: Error) => {
        this.answered(false);
        if (this.failed(err, attempt, false)) this.lines.finished(attempt.run);
        else this.toSpool(attempt);
      },
    );
  }

  /** A request answered: what gathered meanwhile goes now, while the database keeps up. */
  private answered(written: boolean): void {
    this.requests--;
    this.healthy = written;
    if (written && this.requests === 0 && this.pendingLines > 0 && !this.stopped) this.cut();
  }

  /** One POST of the batch, counted when written. */
  private post(batch: LineBatch): Promise<void> {
    return postLines(this.transport, this.path, this.sendOptions, batch.body).then(() => {
      this.counters.linesWritten += batch.lines;
      queueMicrotask(this.changed);
    });
  }

  /**
   * Counts and logs a failed write; true when the data itself was refused (as the client has it,
   * an HTTP status below 429): counted as failed, since no retry would mend it.
   */
  private failed(error: Error, batch: LineBatch, fromSpool: boolean): boolean {
    const info = describeWriteError(error);
    const refused = error instanceof HttpError && error.statusCode < 429;
    this.counters.batchesFailed++;
    this.counters.lastError = info;
    if (refused) this.counters.linesFailed += batch.lines;
    this.pauseFor(error);
    queueMicrotask(this.changed);
    this.log.warn(
      {
        err: new GridgateError('GG_ERR_TSDB_WRITE', `write to ${this.opts.url} failed`, [], { cause: error }),
        statusCode: info.statusCode,
        body: info.body,
        cause: info.message,
        lines: batch.lines,
        next: refused ? 'drop' : fromSpool ? 'keep in spool' : 'spool',
      },
      fromSpool ? 'time-series write of spooled lines failed' : 'time-series write failed',
    );
    return refused;
  }

  /**
   * The database's Retry-After, when it sent one, holds new batches and the spool's re-sending. It
   * is read in seconds (RFC 9110 §10.2.3; InfluxDB sends seconds), which the client's HttpError
   * parses but reports as if it were milliseconds.
   */
  private pauseFor(error: Error): void {
    const seconds = error instanceof HttpError ? error.retryAfter() : 0;
    if (seconds > 0) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + seconds * 1000);
  }

  /** After the callbacks above have done their counting. */
  private readonly changed = (): void => this.opts.onChange?.();

  private toSpool(batch: Attempt): void {
    this.counters.linesSpooled += batch.lines;
    void this.spool.push(batch).then(
      () => {
        this.lines.finished(batch.run);
        queueMicrotask(this.changed);
      },
      (err: unknown) => {
        this.lines.finished(batch.run);
        this.counters.linesFailed += batch.lines;
        this.log.error({ err, lines: batch.lines }, 'spool push failed; lines lost');
      },
    );
  }

  /**
   * Re-send spooled batches oldest first, one at a time, each once: the first that fails stays at
   * the spool's head (on disk) for the next try, on the spool timer or after the next good write.
   */
  private drainSpool(): void {
    if (this.drainRun || this.stopped || this.spool.lines === 0 || Date.now() < this.pausedUntil) return;
    const run = async () => {
      this.log.info({ lines: this.spool.lines }, 're-sending spooled lines');
      for await (const batch of this.spool.drain()) {
        // The batch before this one is off the spool now: its counters are worth reporting.
        this.changed();
        if (this.stopped) return;
        // Done with once written, or refused as invalid (no retry would mend it); else it stays at the head.
        const done = await this.post(batch).then(
          () => true,
          (err: Error) => this.failed(err, batch, true),
        );
        if (!done) return;
      }
      this.changed();
      this.log.info({ left: this.spool.lines }, 'spool drained');
    };
    this.drainRun = run()
      .catch((err: unknown) => this.log.error({ err }, 'spool drain failed'))
      .finally(() => {
        this.drainRun = undefined;
      });
  }
}
