/**
 * Worker-thread entry of ThreadedMqttConnection: the mqtt.js client of the external broker — socket,
 * packet parsing, keepalive, acks — on a core of its own. Received messages are packed into batches
 * (message-batch.ts) and handed to the gateway's thread once per turn of this thread's event loop.
 *
 * Back-pressure: when more than highWaterBytes of handed-over messages wait to be processed, the
 * thread holds mqtt.js's per-message callback (its handleMessage hook), so mqtt.js stops parsing,
 * the socket stops being read and TCP slows the broker down — as when the client ran on the
 * gateway's thread and that thread was busy.
 */
import { parentPort, workerData } from 'node:worker_threads';
import mqtt, { type IConnackPacket, type IPublishPacket } from 'mqtt';
import type { FromIoThread, IoThreadData, ToIoThread, WireError } from './io-protocol.js';
import { MessageBatchWriter } from './message-batch.js';

const port = parentPort;
if (!port) throw new Error('mqtt-io-thread.js runs as a worker thread of ThreadedMqttConnection');
const post = (msg: FromIoThread, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer);
const wire = (err: Error & { code?: string | number }): WireError => ({
  message: err.message,
  code: err.code,
});

const { url, options, highWaterBytes } = workerData as IoThreadData;
/** Batches handed over and not yet processed by the gateway's thread, at most. */
const MAX_IN_FLIGHT = 2;

const batch = new MessageBatchWriter();
let scheduled = false;
let inFlight = 0;
let held: ((err?: Error) => void) | undefined;
/** After `end`: nothing more is taken in (or acknowledged), and what was taken in is handed over. */
let ending = false;

// mqtt.js calls `log` several times per packet; it must be a no-op function (not cloneable, so set here).
const client = mqtt.connect(url, { ...options, log: () => {} });

function handOver(): void {
  scheduled = false;
  if (batch.count === 0 || (inFlight >= MAX_IN_FLIGHT && !ending)) return;
  const { buffer, byteLength } = batch.take();
  inFlight++;
  post({ t: 'msgs', buffer, byteLength }, [buffer]);
}

client.on('message', (topic: string, payload: Buffer) => {
  batch.add(topic, payload);
  if (!scheduled) {
    scheduled = true;
    setImmediate(handOver);
  }
});

// Called by mqtt.js after each 'message', before the next packet is parsed (and, for QoS 1, before
// the PUBACK): holding the callback pauses the client.
client.handleMessage = (_packet: IPublishPacket, callback: (err?: Error) => void) => {
  // While ending, never: a QoS 1 message not acknowledged stays with the broker for the next session.
  if (ending) return;
  if (batch.bytes <= highWaterBytes) callback();
  else held = callback;
};

function release(): void {
  const go = held;
  held = undefined;
  go?.();
}

client.on('connect', (connack: IConnackPacket) =>
  post({ t: 'connect', sessionPresent: connack.sessionPresent }),
);
client.on('close', () => {
  // A held callback belongs to the connection that closed; acking it on the next could ack another message.
  held = undefined;
  post({ t: 'close' });
});
client.on('error', (err) => post({ t: 'error', error: wire(err) }));

const reply = (id: number) => (err?: Error | null) =>
  post({ t: 'reply', id, ...(err ? { error: wire(err) } : {}) });

port.on('message', (msg: ToIoThread) => {
  switch (msg.t) {
    case 'done':
      inFlight--;
      handOver();
      if (batch.bytes <= highWaterBytes / 2) release();
      return;
    case 'subscribe':
      client.subscribe(msg.filters, reply(msg.id));
      return;
    case 'unsubscribe':
      client.unsubscribe(msg.filters, reply(msg.id));
      return;
    case 'publish':
      client.publish(
        msg.topic,
        Buffer.from(msg.payload),
        { qos: msg.qos, retain: msg.retain },
        reply(msg.id),
      );
      return;
    case 'reconnect':
      client.reconnect();
      return;
    case 'end':
      ending = true;
      held = undefined;
      // Everything taken in (and so acknowledged) goes to the gateway's thread before the reply.
      handOver();
      client.end(msg.force, {}, () => {
        handOver();
        post({ t: 'reply', id: msg.id });
        port.close();
      });
      return;
  }
});
