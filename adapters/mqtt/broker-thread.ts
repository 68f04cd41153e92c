/**
 * Worker-thread entry of ThreadedEmbeddedBroker: the embedded aedes broker — listener, TLS, MQTT
 * parsing, acks, fair reads, frame and connection limits — on a core of its own. Device messages
 * are packed into batches (message-batch.ts, source = the connection's number) and handed to the
 * gateway's thread once per turn of this thread's event loop; connectivity and oversize events go
 * in the same stream, after the messages before them.
 *
 * Authentication and ACLs stay with the gateway (its registry, credentials and counters): CONNECT
 * and SUBSCRIBE ask it. So does a PUBLISH on a topic the connection has not published on before;
 * the topics it allowed are remembered per connection (a device publishes on two or three), so the
 * steady stream of messages is checked here, without a round trip, until the gateway says the
 * device models' topics changed (`forget`). The gateway checks each message again as it takes it
 * (a device retired while connected), and asks this thread to close the connection when it
 * refuses one.
 *
 * Back-pressure: with the channel's credit window used up, a batch that grows past highWaterBytes
 * holds every read (FairReads.hold), so the sockets' buffers and TCP's window push back on the
 * devices, as when the broker shared the gateway's thread and that thread was busy.
 *
 * Durability: with an intake log, each QoS 1 message is on disk before aedes' PUBACK leaves
 * (intake-edge.ts), and what the log holds past its checkpoint is handed over before the broker
 * listens.
 */
import type { Socket } from 'node:net';
import type { Client } from 'aedes';
import { serveThread } from '../threads/serve.js';
import type {
  BrokerAsks,
  BrokerCalls,
  BrokerEvent,
  BrokerReady,
  BrokerThreadData,
  BrokerThreadStats,
} from './broker-protocol.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { FairReads } from './fair-reads.js';
import { IntakeEdge } from './intake-edge.js';
import { MessageBatchWriter, type MessagesBatch } from './message-batch.js';

const thread = serveThread<BrokerAsks, BrokerCalls, BrokerThreadData>();
const { endpoint, data } = thread;

/**
 * Topics remembered as allowed per connection; past this the gateway is asked each time. A device
 * publishes on two or three; a downstream system, or an open broker (mqtt.auth.required false) with
 * many devices behind one connection, on more.
 */
const MAX_ALLOWED_TOPICS = 4096;
const STATS_EVERY_MS = 1000;
/** Every message goes to the gateway's thread, which routes it (the thread does not know the models). */
const HAND_OVER = { deviceId: '', kind: 'telemetry' } as const;

const batch = new MessageBatchWriter();
const reads = new FairReads({ budgetMs: data.readBudgetMs || Number.POSITIVE_INFINITY });
let scheduled = false;
let stopping = false;
const intakeEdge = new IntakeEdge(data.intake, thread.logger);
/** Times reads were held for back-pressure. */
let holds = 0;

/** The turn's end: its messages to the log, then the PUBACKs, then the batch to the gateway's thread. */
function turn(): void {
  scheduled = false;
  intakeEdge.commit();
  handOver();
}

function handOver(force = false): void {
  if (batch.count === 0 || (!endpoint.canSend && !force && !stopping)) return;
  const { buffer, byteLength } = batch.take();
  endpoint.batch('msgs', { buffer, byteLength, seq: intakeEdge.seq } satisfies MessagesBatch, [buffer]);
}

/** An event goes after the messages taken in before it (a batch only ever claims logged messages). */
function event(e: BrokerEvent): void {
  intakeEdge.commit();
  handOver(true);
  endpoint.event('event', e);
}

endpoint.onCredit = () => {
  if (intakeEdge.credit()) return;
  turn();
  if (batch.bytes <= data.highWaterBytes / 2) reads.release();
};

const conns = new WeakMap<Client, number>();
const clients = new Map<number, Client>();
/** Replaced whole on `forget` (a WeakMap cannot be cleared), with `generation` moved on. */
let allowed = new WeakMap<Client, Set<string>>();
/** Moves on at each `forget`: a verdict asked for before it is not remembered after it. */
let generation = 0;
let lastConn = 0;

function connOf(client: Client): number {
  let n = conns.get(client);
  if (n === undefined) {
    const id = ++lastConn;
    n = id;
    conns.set(client, id);
    clients.set(id, client);
    (client.conn as Socket).once('close', () => {
      clients.delete(id);
      event({ t: 'gone', conn: id });
    });
  }
  return n;
}

async function allowPublish(
  client: Client,
  topic: string,
  qos: 0 | 1 | 2,
  retain: boolean,
): Promise<boolean> {
  const asked = generation;
  const verdict = await endpoint.call('authorizePublish', {
    conn: connOf(client),
    clientId: client.id,
    topic,
    qos,
    retain,
  });
  if (verdict !== true) return false;
  if (asked !== generation) return true;
  let set = allowed.get(client);
  if (!set) {
    set = new Set<string>();
    allowed.set(client, set);
  }
  if (set.size < MAX_ALLOWED_TOPICS) set.add(topic);
  return true;
}

const broker = new EmbeddedBroker({
  host: data.host,
  port: data.port,
  maxPayloadBytes: data.maxPayloadBytes,
  maxPacketBytes: data.maxPacketBytes,
  tls: data.tls,
  maxConnectionsPerIp: data.maxConnectionsPerIp,
  persistence: data.persistence,
  reads,
  logger: thread.logger,
  route: () => HAND_OVER,
  onMessage(msg, client, qos) {
    batch.add(msg.topic, msg.payload, client ? connOf(client) : 0, msg.receivedAt);
    if (client && qos) intakeEdge.taken(msg.topic, msg.payload, qos, client.conn as Socket);
    if (!scheduled) {
      scheduled = true;
      setImmediate(turn);
    }
    if (!endpoint.canSend && batch.bytes > data.highWaterBytes && !reads.held) {
      holds++;
      reads.hold();
    }
  },
  onConnectivity: (clientId, online, at, client) =>
    event({ t: 'client', conn: connOf(client), clientId, online, at }),
  onOversize: (clientId, topic, size) => event({ t: 'oversize', clientId, topic, size }),
  authenticate: data.hooks.authenticate
    ? (client, username, password) =>
        endpoint.call('authenticate', {
          conn: connOf(client),
          clientId: client.id,
          remote: (client.conn as Socket).remoteAddress ?? 'unknown',
          username,
          password: password === undefined ? undefined : new Uint8Array(password),
        })
    : undefined,
  authorizePublish: data.hooks.authorizePublish
    ? (client, packet) =>
        allowed.get(client)?.has(packet.topic)
          ? true
          : allowPublish(client, packet.topic, packet.qos, packet.retain)
    : undefined,
  authorizeSubscribe: data.hooks.authorizeSubscribe
    ? async (client, sub) =>
        (await endpoint.call('authorizeSubscribe', {
          conn: connOf(client),
          clientId: client.id,
          topic: sub.topic,
          qos: sub.qos,
        })) === true
    : undefined,
});

function sendStats(): void {
  const stats: BrokerThreadStats = {
    broker: { ...broker.stats },
    connectedClients: broker.connectedClients,
    fairness: { ...reads.stats },
    holds,
  };
  endpoint.event('stats', stats);
}
const statsTimer = setInterval(sendStats, STATS_EVERY_MS);

endpoint.onItem = (name, v) => {
  if (name === 'settled') return intakeEdge.settled(v as number);
  if (name !== 'close') return;
  const client = clients.get((v as { conn: number }).conn);
  if (!client) return;
  allowed.delete(client);
  client.close();
};
endpoint.handle('publish', (m) =>
  broker.publish(m.topic, Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength), {
    qos: m.qos,
    retain: m.retain,
  }),
);
endpoint.handle('forget', () => {
  allowed = new WeakMap();
  generation++;
});
endpoint.handle('stop', async () => {
  stopping = true;
  clearInterval(statsTimer);
  reads.release();
  // The PUBACKs of what is taken in go out while the connections are still open.
  intakeEdge.commit();
  await broker.stop();
  // Everything taken in (and acknowledged) goes over before the reply.
  intakeEdge.close();
  handOver(true);
  sendStats();
  setImmediate(thread.close);
});

// What was acknowledged before the last stop and not yet written goes first, before any client.
intakeEdge
  .replay(batch, data.highWaterBytes, endpoint, () => handOver())
  .then(() => broker.start())
  .then(
    () => thread.ready({ port: broker.port } satisfies BrokerReady),
    (err: unknown) => thread.fail(err),
  );
