/**
 * Worker-thread entry of ThreadedInfluxWriter: readings arrive taken apart (reading-batch.ts), are
 * written out as line protocol here, and go to an InfluxWriter. The line bytes, batching, the HTTP
 * requests, gzip, retries and the spool run here, on a core of their own, instead of on the thread
 * that takes MQTT messages in.
 */
import { serveThread } from '../threads/serve.js';
import { InfluxWriter } from './influx-writer.js';
import { LineBuffer } from './line-buffer.js';
import { type ReadingBatch, ReadingBatchReader } from './reading-batch.js';
import type { WriterAsks, WriterCalls, WriterThreadData, WriterThreadState } from './writer-protocol.js';

const thread = serveThread<WriterAsks, WriterCalls, WriterThreadData>();
const { endpoint } = thread;

const state = (w: InfluxWriter): WriterThreadState => ({
  stats: { ...w.stats },
  spooledLines: w.spooledLines,
  spool: { ...w.spoolStats },
});

let writer: InfluxWriter;
try {
  writer = new InfluxWriter({
    ...thread.data,
    logger: thread.logger,
    onChange: () => endpoint.event('state', state(writer)),
  });
} catch (err) {
  // A setting the client refuses: the gateway's side rejects `ready` with this, and does not restart.
  thread.fail(err);
  throw err;
}
const reader = new ReadingBatchReader();
const encoder = new LineBuffer();

/** The latest mark settled, posted once per turn however many settled in it. */
let settledMark = 0;
let posting = false;
const postSettled = (): void => {
  posting = false;
  endpoint.event('settled', settledMark);
};
const settle = (mark: number): void => {
  void writer.settled().then(() => {
    if (mark <= settledMark) return;
    settledMark = mark;
    if (posting) return;
    posting = true;
    setImmediate(postSettled);
  });
};

endpoint.onItem = (name, v) => {
  if (name === 'mark') return settle(v as number);
  if (name !== 'readings') return;
  const batch = v as ReadingBatch;
  reader.read(batch, encoder);
  const { buffer, byteLength, lines } = encoder.take();
  writer.writeBytes(new Uint8Array(buffer, 0, byteLength), lines);
  if (batch.mark !== undefined) settle(batch.mark);
};
endpoint.handle('flush', async () => {
  await writer.flush();
  return state(writer);
});
endpoint.handle('stop', async () => {
  await writer.stop();
  // After the reply has been posted.
  setImmediate(thread.close);
  return state(writer);
});
thread.ready();
