/**
 * Worker-thread entry of ThreadedInfluxWriter: an InfluxWriter fed with ready-made line-protocol
 * bytes. Batching, the HTTP requests, gzip, retries and the spool run here, on a core of their own,
 * instead of on the thread that takes MQTT messages in.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { InfluxWriter } from './influx-writer.js';
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
const state = (): WriterThreadState => ({ stats: { ...writer.stats }, spooledLines: writer.spooledLines });
// A setting the client refuses throws here: the thread ends before `ready`, and the gateway's
// ThreadedInfluxWriter rejects its `ready` with this error instead of restarting.
const writer: InfluxWriter = new InfluxWriter({
  ...options,
  logger,
  onChange: () => post({ t: 'state', ...state() }),
});
post({ t: 'ready' });

port.on('message', (msg: ToWriterThread) => {
  switch (msg.t) {
    case 'lines':
      writer.writeBytes(new Uint8Array(msg.buffer, 0, msg.byteLength), msg.lines);
      return;
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
