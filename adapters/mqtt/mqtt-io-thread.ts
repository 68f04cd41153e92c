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
 *
 * Durability: with an intake log, each QoS 1 message is on disk before mqtt.js's PUBACK leaves
 * (intake-edge.ts), and what the log holds past its checkpoint is handed over before the connection
 * is made.
 */
import mqtt, { type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { toWire } from '../threads/endpoint.js';
import { serveThread } from '../threads/serve.js';
import { IntakeEdge } from './intake-edge.js';
import type { IoAsks, IoCalls, IoThreadData } from './io-protocol.js';
import { MessageBatchWriter, type MessagesBatch } from './message-batch.js';

const thread = serveThread<IoAsks, IoCalls, IoThreadData>();
const { endpoint } = thread;
const { url, options, highWaterBytes, intake } = thread.data;

const batch = new MessageBatchWriter();
let scheduled = false;
let held: ((err?: Error) => void) | undefined;
/** After `stop`: nothing more is taken in (or acknowledged), and what was taken in is handed over. */
let ending = false;
const intakeEdge = new IntakeEdge(intake, thread.logger);
let client: MqttClient | undefined;

/** The turn's end: its messages to the log, then the PUBACKs, then the batch to the gateway's thread. */
function turn(): void {
  scheduled = false;
  intakeEdge.commit();
  handOver();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(turn);
}

function handOver(): void {
  if (batch.count === 0 || (!endpoint.canSend && !ending)) return;
  const { buffer, byteLength } = batch.take();
  endpoint.batch('msgs', { buffer, byteLength, seq: intakeEdge.seq } satisfies MessagesBatch, [buffer]);
}

function release(): void {
  const go = held;
  held = undefined;
  go?.();
}

endpoint.onCredit = () => {
  if (intakeEdge.credit()) return;
  // Committed now rather than at the turn's end: a batch only ever claims messages in the log.
  turn();
  if (batch.bytes <= highWaterBytes / 2) release();
};

function connect(): MqttClient {
  // mqtt.js calls `log` several times per packet; it must be a no-op function (not cloneable, so set here).
  const c = mqtt.connect(url, { ...options, log: () => {} });
  c.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
    // While ending, not taken in: handleMessage does not acknowledge it either, so the broker keeps
    // it for the next session (taking it in as well would store it twice).
    if (ending) return;
    batch.add(topic, payload);
    intakeEdge.taken(topic, payload, packet.qos, c.stream);
    schedule();
  });

  // Called by mqtt.js after each 'message', before the next packet is parsed (and, for QoS 1, before
  // the PUBACK): holding the callback pauses the client.
  c.handleMessage = (_packet: IPublishPacket, callback: (err?: Error) => void) => {
    // While ending, never: a QoS 1 message not acknowledged stays with the broker for the next session.
    if (ending) return;
    // Held only without credit: the credit that comes back releases it. Holding with credit in hand
    // would wait for credit the gateway's thread owes for no batch (it returns it in groups).
    if (endpoint.canSend || batch.bytes <= highWaterBytes) callback();
    else held = callback;
  };

  c.on('connect', (connack: IConnackPacket) =>
    endpoint.event('connect', { sessionPresent: connack.sessionPresent }),
  );
  c.on('close', () => {
    // A held callback belongs to the connection that closed; acking it on the next could ack another message.
    held = undefined;
    endpoint.event('close', undefined);
  });
  c.on('error', (err) => endpoint.event('error', toWire(err)));
  return c;
}

function made(): MqttClient {
  if (!client) throw new Error('the connection to the broker is not made yet');
  return client;
}

const settle =
  (resolve: () => void, reject: (e: Error) => void) =>
  (err?: Error | null): void =>
    err ? reject(err) : resolve();

endpoint.handle(
  'subscribe',
  (filters) => new Promise<void>((resolve, reject) => made().subscribe(filters, settle(resolve, reject))),
);
endpoint.handle(
  'unsubscribe',
  (filters) => new Promise<void>((resolve, reject) => made().unsubscribe(filters, settle(resolve, reject))),
);
endpoint.handle(
  'publish',
  (p) =>
    new Promise<void>((resolve, reject) =>
      made().publish(
        p.topic,
        Buffer.from(p.payload),
        { qos: p.qos, retain: p.retain },
        settle(resolve, reject),
      ),
    ),
);
endpoint.onItem = (name, v) => {
  if (name === 'reconnect') client?.reconnect();
  else if (name === 'settled') intakeEdge.settled(v as number);
};
endpoint.handle(
  'stop',
  (force) =>
    new Promise<void>((resolve) => {
      ending = true;
      // Everything taken in goes to the gateway's thread before the reply, so it is acknowledged:
      // the turn's PUBACKs, and a held one (its message is in the batch), or the broker would
      // deliver it again next session.
      turn();
      release();
      const done = () => {
        turn();
        intakeEdge.close();
        resolve();
        setImmediate(thread.close);
      };
      if (client) client.end(force ?? false, {}, done);
      else done();
    }),
);
thread.ready();
void intakeEdge.replay(batch, highWaterBytes, endpoint, handOver).then(() => {
  if (!ending) client = connect();
});
