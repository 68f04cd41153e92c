import type { SpoolStats } from '../fs/spool.js';
import type { InfluxWriterOptions, InfluxWriterStats } from './influx-writer.js';

/**
 * ThreadedInfluxWriter <-> writer-thread.ts over the thread channel (adapters/threads/). The
 * gateway's side sends `readings` batches (reading-batch.ts, two transferred buffers) and `mark`
 * events (a number; a batch can carry one too); the thread sends `state` events whenever its
 * counters change, and `settled` with a mark once every line before it is written or spooled.
 */
export type WriterThreadData = Omit<InfluxWriterOptions, 'logger' | 'onChange'>;

export interface WriterThreadState {
  stats: InfluxWriterStats;
  spooledLines: number;
  spool: SpoolStats;
}

/** Calls the gateway's side makes: send what is buffered; flush and close (the thread then ends). */
export type WriterCalls = {
  flush: [undefined, WriterThreadState];
  stop: [undefined, WriterThreadState];
};

/** The thread asks nothing of the gateway's side. */
export type WriterAsks = Record<never, [unknown, unknown]>;
