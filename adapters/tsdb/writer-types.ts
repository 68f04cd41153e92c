import type { Logger } from 'pino';
import type { Device, Reading, ReadingSink } from '../../processors/types.js';
import type { DiskSpoolConfig } from '../fs/disk-spool-config.js';
import type { SpoolStats } from '../fs/spool.js';

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
  logger: Logger;
  /** The disk spool batches go to once retries are exhausted (disk-spool.ts). */
  spool: DiskSpoolConfig;
  /** How often a non-empty spool is offered to the database again; default 10 s. */
  spoolRetryMs?: number;
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

/** The counters of a writer that has written nothing yet. */
export const NO_WRITES: Readonly<InfluxWriterStats> = {
  linesWritten: 0,
  linesFailed: 0,
  batchesFailed: 0,
  linesSpooled: 0,
  readingsSkipped: 0,
  lastError: undefined,
};

/** What the gateway needs of a time-series writer, on this thread or another (threaded-writer.ts). */
export interface TsdbWriter extends ReadingSink {
  /** The device is not needed: a reading carries its tags. */
  write(reading: Reading, device?: Device): void;
  readonly stats: Readonly<InfluxWriterStats>;
  /** Lines waiting in the spool. */
  readonly spooledLines: number;
  readonly spoolStats: Readonly<SpoolStats>;
  /**
   * Resolves once every reading written before the call is in the database or the spool, or was
   * given up (refused as invalid, counted in linesFailed).
   */
  settled(): Promise<void>;
  flush(): Promise<void>;
  stop(): Promise<void>;
}
