import { HttpError, InfluxDB, type WriteApi, type WriteOptions } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import type { Device, Reading, ReadingSink } from '../../processors/types.js';
import { routeInfluxClientLogs } from './client-log.js';
import { toLine } from './line-protocol.js';
import { MemorySpool, type Spool } from './spool.js';

export type RetryTuning = Partial<
  Pick<WriteOptions, 'minRetryDelay' | 'maxRetryDelay' | 'retryJitter' | 'maxRetryTime' | 'exponentialBase'>
>;

export interface InfluxWriterOptions {
  /** Base URL of any server with the v2 write API (InfluxDB 2/3, VictoriaMetrics). */
  url: string;
  token?: string;
  org: string;
  bucket: string;
  batchSize: number;
  flushIntervalMs: number;
  /** gzip request bodies over 1 kB; default true. */
  gzip?: boolean;
  /** Retries by the client after the first failed attempt, before a batch goes to the spool. */
  maxRetries: number;
  /** Lines the client's retry buffer holds; overflow goes to the spool. */
  maxBufferLines: number;
  logger: Logger;
  /** Where batches go once retries are exhausted. Default: MemorySpool(spoolMaxLines). */
  spool?: Spool;
  /** Default 100 000 lines. */
  spoolMaxLines?: number;
  /** How often a non-empty spool is offered to the database again; default 10 s. */
  spoolRetryMs?: number;
  /** HTTP timeout per write; default 10 s. */
  timeoutMs?: number;
  retry?: RetryTuning;
  /** Called after the counters change (a batch written, failed, spooled or dropped). */
  onChange?: () => void;
}

export interface WriteErrorInfo {
  message: string;
  statusCode?: number;
  body?: string;
  /** Epoch ms. */
  at: number;
}

export interface InfluxWriterStats {
  linesWritten: number;
  /** Lines given up: rejected by the database as invalid (4xx), or pushed out of a full spool. */
  linesFailed: number;
  /** Failed write attempts (each retry counts). */
  batchesFailed: number;
  linesSpooled: number;
  /** Readings with no finite field, so no line. */
  readingsSkipped: number;
  lastError: WriteErrorInfo | undefined;
}

/** What the gateway needs of a time-series writer, on this thread or another (threaded-writer.ts). */
export interface TsdbWriter extends ReadingSink {
  /** The device is not needed: a reading carries its tags. */
  write(reading: Reading, device?: Device): void;
  readonly stats: Readonly<InfluxWriterStats>;
  /** Lines waiting in the spool. */
  readonly spooledLines: number;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Readings -> batched, gzipped line protocol through the influx client's WriteApi (precision ms).
 * Transient failures (network, 429, 5xx) are retried by the client; when retries run out the batch
 * goes to a Spool and is re-sent once a write succeeds again (or on the spool timer). Never throws
 * into the pipeline.
 */
export class InfluxWriter implements TsdbWriter {
  private readonly api: WriteApi;
  private readonly spool: Spool;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private stopped = false;
  /** Lines handed to the client, and those it has finished with (written, spooled or dropped). */
  private submitted = 0;
  private settled = 0;
  private readonly counters = {
    linesWritten: 0,
    linesFailed: 0,
    batchesFailed: 0,
    linesSpooled: 0,
    readingsSkipped: 0,
    lastError: undefined as WriteErrorInfo | undefined,
  };

  constructor(private readonly opts: InfluxWriterOptions) {
    this.log = opts.logger.child({ component: 'influx-writer' });
    routeInfluxClientLogs(this.log);
    this.spool = opts.spool ?? new MemorySpool(opts.spoolMaxLines ?? 100_000);
    const self = this;
    this.api = new InfluxDB({
      url: opts.url,
      token: opts.token,
      timeout: opts.timeoutMs ?? 10_000,
    }).getWriteApi(opts.org, opts.bucket, 'ms', {
      batchSize: opts.batchSize,
      flushInterval: opts.flushIntervalMs,
      gzipThreshold: opts.gzip === false ? Number.POSITIVE_INFINITY : 1000,
      maxRetries: opts.maxRetries,
      maxBufferLines: opts.maxBufferLines,
      ...opts.retry,
      writeFailed(error, lines, attempt, expires) {
        return self.onFailed(error, lines, attempt, expires);
      },
      writeSuccess(lines) {
        self.onSuccess(lines);
      },
      writeRetrySkipped(entry) {
        self.settled += entry.lines.length;
        self.log.warn({ lines: entry.lines.length }, 'influx retry buffer full; batch moved to spool');
        self.toSpool(entry.lines);
      },
    });
    this.timer = setInterval(() => this.drainSpool(), opts.spoolRetryMs ?? 10_000);
    this.timer.unref();
  }

  get stats(): Readonly<InfluxWriterStats> {
    return { ...this.counters, linesFailed: this.counters.linesFailed + this.spool.droppedLines };
  }

  /** Lines waiting in the spool. */
  get spooledLines(): number {
    return this.spool.lines;
  }

  write(reading: Reading, _device?: Device): void {
    const line = toLine(reading);
    if (line === undefined) this.counters.readingsSkipped++;
    else this.writeLines([line]);
  }

  /** Lines already in line protocol (precision ms), e.g. built on another thread. */
  writeLines(lines: readonly string[]): void {
    if (this.stopped) this.counters.linesFailed += lines.length;
    else this.send(lines);
  }

  private send(lines: readonly string[]): void {
    this.submitted += lines.length;
    this.api.writeRecords(lines as string[]);
  }

  /** Send what is buffered, and the retry buffer too. Failures are counted, never thrown. */
  async flush(): Promise<void> {
    // Full batches went out on their own; wait for those too (bounded by one request timeout).
    // Each round also sends the retry buffer at once, so retries run out instead of waiting.
    const deadline = Date.now() + (this.opts.timeoutMs ?? 10_000);
    for (;;) {
      try {
        await this.api.flush(true);
      } catch (err) {
        this.log.debug({ err }, 'influx flush incomplete; failed lines are retried or spooled');
      }
      if (this.settled >= this.submitted || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Flush, then close the client. Lines still waiting in the retry buffer or spool are logged as lost. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    this.stopped = true;
    await this.api.close().catch((err: unknown) => this.log.debug({ err }, 'influx close'));
    if (this.spool.lines > 0)
      this.log.warn({ lines: this.spool.lines }, 'influx writer stopped with spooled lines unsent');
  }

  private onFailed(
    error: Error,
    lines: string[],
    attempt: number,
    expires: number,
  ): Promise<void> | undefined {
    this.counters.batchesFailed++;
    queueMicrotask(this.changed);
    const info = describe(error);
    this.counters.lastError = info;
    // Same rule as the client: an HTTP status below 429 means the data itself was refused.
    const retriable = !(error instanceof HttpError) || error.statusCode >= 429;
    const final = !retriable || attempt > this.opts.maxRetries || expires <= Date.now() || this.stopped;
    this.log.warn(
      {
        err: new GridgateError('GG_ERR_TSDB_WRITE', `write to ${this.opts.url} failed`, [], { cause: error }),
        statusCode: info.statusCode,
        body: info.body,
        cause: info.message,
        attempt,
        lines: lines.length,
        next: final ? (retriable ? 'spool' : 'drop') : 'retry',
      },
      'time-series write failed',
    );
    if (!final) return undefined; // the client retries with backoff
    this.settled += lines.length;
    if (retriable) this.toSpool(lines);
    else this.counters.linesFailed += lines.length;
    // Handled: the client must neither retry nor log it again.
    return Promise.resolve();
  }

  private onSuccess(lines: string[]): void {
    this.settled += lines.length;
    queueMicrotask(this.changed);
    this.counters.linesWritten += lines.length;
    if (this.spool.lines > 0) this.drainSpool();
  }

  /** After the callbacks above have done their counting. */
  private readonly changed = (): void => this.opts.onChange?.();

  private toSpool(lines: string[]): void {
    queueMicrotask(this.changed);
    this.counters.linesSpooled += lines.length;
    this.spool.push(lines).catch((err: unknown) => {
      this.counters.linesFailed += lines.length;
      this.log.error({ err, lines: lines.length }, 'spool push failed; lines lost');
    });
  }

  /** Re-send spooled batches one at a time; stop at the first failure (the batch is retried, then spooled again). */
  private drainSpool(): void {
    if (this.draining || this.stopped || this.spool.lines === 0) return;
    this.draining = true;
    const run = async () => {
      for await (const batch of this.spool.drain()) {
        if (this.stopped) {
          await this.spool.push(batch);
          return;
        }
        this.log.info({ lines: batch.length }, 're-sending spooled lines');
        const failuresBefore = this.counters.batchesFailed;
        this.send(batch);
        try {
          await this.api.flush();
        } catch {
          return; // still down; the failed batch is already in the client's retry path
        }
        // With maxRetries 0 a failed batch goes straight back to the spool: stop, or this loops.
        if (this.counters.batchesFailed > failuresBefore) return;
      }
    };
    run()
      .catch((err: unknown) => this.log.error({ err }, 'spool drain failed'))
      .finally(() => {
        this.draining = false;
      });
  }
}

function describe(error: Error): WriteErrorInfo {
  if (error instanceof HttpError) {
    return {
      message: error.message,
      statusCode: error.statusCode,
      body: error.body?.slice(0, 500),
      at: Date.now(),
    };
  }
  const code = (error as NodeJS.ErrnoException).code;
  return { message: code ? `${code}: ${error.message}` : error.message, at: Date.now() };
}
