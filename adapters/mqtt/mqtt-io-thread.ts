/**
 * Worker-thread entry of ThreadedMqttConnection: the mqtt.js client of the external broker — socket,
 * packet parsing, keepalive, acks — on a core of its own. Received messages are packed into batches
 * (message-batch.ts) and handed to the gateway's thread once per turn of this thread's event loop.
 *
 * Back-pressure: while the gateway's thread has not taken the batches handed over (the channel's
 * credit window) and the next one grows past highWaterBytes, the thread holds mqtt.js's
 * per-message callback (its handleMessage hook), so mqtt.js stops parsing, the socket stops being
 * read and TCP slows the broker down — as when the client ran on the gateway's thread and that
 * thread was busy.
 */
import mqtt, { type IConnackPacket, type IPublishPacket } from 'mqtt';
import { toWire } from '../threads/endpoint.js';
import { serveThread } from '../threads/serve.js';
import type { IoAsks, IoCalls, IoThreadData } from './io-protocol.js';
import { MessageBatchWriter, type MessagesBatch } from './message-batch.js';

const thread = serveThread<IoAsks, IoCalls, IoThreadData>();
const { endpoint } = thread;
const { url, options, highWaterBytes } = thread.data;

const batch = new MessageBatchWriter();
let scheduled = false;
let held: ((err?: Error) => void) | undefined;
/** After `stop`: nothing more is taken in (or acknowledged), and what was taken in is handed over. */
let ending = false;

// mqtt.js calls `log` several times per packet; it must be a no-op function (not cloneable, so set here).
const client = mqtt.connect(url, { ...options, log: () => {} });

function handOver(): void {
  scheduled = false;
  if (batch.count === 0 || (!endpoint.canSend && !ending)) return;
  const { buffer, byteLength } = batch.take();
  endpoint.batch('msgs', { buffer, byteLength } satisfies MessagesBatch, [buffer]);
}

function release(): void {
  const go = held;
  held = undefined;
  go?.();
}

endpoint.onCredit = () => {
  handOver();
  if (batch.bytes <= highWaterBytes / 2) release();
};

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

client.on('connect', (connack: IConnackPacket) =>
  endpoint.event('connect', { sessionPresent: connack.sessionPresent }),
);
client.on('close', () => {
  // A held callback belongs to the connection that closed; acking it on the next could ack another message.
  held = undefined;
  endpoint.event('close', undefined);
});
client.on('error', (err) => endpoint.event('error', toWire(err)));

const settle =
  (resolve: () => void, reject: (e: Error) => void) =>
  (err?: Error | null): void =>
    err ? reject(err) : resolve();

endpoint.handle(
  'subscribe',
  (filters) => new Promise<void>((resolve, reject) => client.subscribe(filters, settle(resolve, reject))),
);
endpoint.handle(
  'unsubscribe',
  (filters) => new Promise<void>((resolve, reject) => client.unsubscribe(filters, settle(resolve, reject))),
);
endpoint.handle(
  'publish',
  (p) =>
    new Promise<void>((resolve, reject) =>
      client.publish(
        p.topic,
        Buffer.from(p.payload),
        { qos: p.qos, retain: p.retain },
        settle(resolve, reject),
      ),
    ),
);
endpoint.onItem = (name) => {
  if (name === 'reconnect') client.reconnect();
};
endpoint.handle(
  'stop',
  (force) =>
    new Promise<void>((resolve) => {
      ending = true;
      held = undefined;
      // Everything taken in (and so acknowledged) goes to the gateway's thread before the reply.
      handOver();
      client.end(force ?? false, {}, () => {
        handOver();
        resolve();
        setImmediate(thread.close);
      });
    }),
);
thread.ready();
