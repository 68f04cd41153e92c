/**
 * Worker-thread entry of ThreadedInfluxWriter: readings arrive taken apart (reading-batch.ts), are
 * written out as line protocol here, and go to an InfluxWriter. The line bytes, batching, the HTTP
 * requests, gzip, retries and the spool run here, on a core of their own, instead of on the thread
 * that takes MQTT messages in.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { InfluxWriter } from './influx-writer.js';
import { LineBuffer } from './line-buffer.js';
import { ReadingBatchReader } from './reading-batch.js';
import type {
  FromWriterThread,
  ToWriterThread,
  WriterThreadOptions,
  WriterThreadState,
} from './writer-protocol.js';

const port = parentPort;
if (!port) throw new Error('writer-thread.js runs as a worker thread of ThreadedInfluxWriter');
const post = (msg: FromWriterThread) => port.postMessage(msg);

const { logLevel, ...options } = workerData as WriterThreadOptions;
const logger = pino(
  { level: logLevel, base: undefined },
  { write: (line: string) => post({ t: 'log', line }) },
);
const state = (): WriterThreadState => ({
  stats: { ...writer.stats },
  spooledLines: writer.spooledLines,
  spool: { ...writer.spoolStats },
});
// A setting the client refuses throws here: the thread ends before `ready`, and the gateway's
// ThreadedInfluxWriter rejects its `ready` with this error instead of restarting.
const writer: InfluxWriter = new InfluxWriter({
  ...options,
  logger,
  onChange: () => post({ t: 'state', ...state() }),
});
const reader = new ReadingBatchReader();
const encoder = new LineBuffer();
post({ t: 'ready' });

port.on('message', (msg: ToWriterThread) => {
  switch (msg.t) {
    case 'readings': {
      reader.read(msg.batch, encoder);
      const { buffer, byteLength, lines } = encoder.take();
      writer.writeBytes(new Uint8Array(buffer, 0, byteLength), lines);
      return;
    }
    case 'flush':
      void writer.flush().then(() => post({ t: 'flushed', id: msg.id, ...state() }));
      return;
    case 'stop':
      void writer.stop().then(() => {
        post({ t: 'flushed', id: msg.id, ...state() });
        port.close();
      });
      return;
  }
});
