import type { InfluxWriterOptions, InfluxWriterStats } from './influx-writer.js';
import type { ReadingBatch } from './reading-batch.js';
import type { SpoolStats } from './spool.js';

/**
 * Messages between ThreadedInfluxWriter (the gateway's thread) and writer-thread.ts. Everything
 * here is structured-cloneable: no logger, no functions (the spool is opened on the thread from its config).
 */
export type WriterThreadOptions = Omit<InfluxWriterOptions, 'logger'> & {
  /** pino level of the gateway's logger; the thread logs nothing below it. */
  logLevel: string;
};

export type ToWriterThread =
  /** Readings taken apart (reading-batch.ts), its two buffers transferred; the thread writes their lines. */
  | { t: 'readings'; batch: ReadingBatch }
  /** Send what is buffered; answered by `flushed` with the same id. */
  | { t: 'flush'; id: number }
  /** Flush and close the client; answered by `flushed`, then the thread ends. */
  | { t: 'stop'; id: number };

export interface WriterThreadState {
  stats: InfluxWriterStats;
  spooledLines: number;
  spool: SpoolStats;
}

export type FromWriterThread =
  /** The writer is constructed: the settings were accepted. */
  | { t: 'ready' }
  /** Sent whenever the counters change (a batch written, failed or spooled). */
  | ({ t: 'state' } & WriterThreadState)
  | ({ t: 'flushed'; id: number } & WriterThreadState)
  /** One pino JSON line, re-logged by the gateway's logger. */
  | { t: 'log'; line: string };
