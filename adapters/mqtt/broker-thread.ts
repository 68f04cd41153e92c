/**
 * Worker-thread entry of ThreadedEmbeddedBroker: the embedded aedes broker — listener, TLS, MQTT
 * parsing, acks, fair reads, frame and connection limits — on a core of its own. Device messages
 * go to the gateway's thread through an EdgeStream (edge-stream.ts: batches, back-pressure, the
 * intake log), tagged with the connection's number; connectivity and oversize events go in the same
 * stream, after the messages before them. What the intake log holds past its checkpoint is handed
 * over before the broker listens.
 *
 * Authentication and ACLs stay with the gateway (its registry, credentials and counters): CONNECT
 * and SUBSCRIBE ask it. So does a PUBLISH on a topic the connection has not published on before;
 * the topics it allowed are remembered per connection (a device publishes on two or three), so the
 * steady stream of messages is checked here, without a round trip, until the gateway says the
 * device models' topics changed (`forget`). The gateway checks each message again as it takes it
 * (a device retired while connected), and asks this thread to close the connection when it
 * refuses one.
 */
import type { Socket } from 'node:net';
import type { Client } from 'aedes';
import { serveThread } from '../threads/serve.js';
import { EdgeStream } from './edge-stream.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { FairReads } from './fair-reads.js';
import type {
  BrokerAsks,
  BrokerCalls,
  BrokerEvents,
  BrokerReady,
  BrokerThreadData,
  BrokerThreadStats,
} from './threaded-broker.js';

const thread = serveThread<BrokerAsks, BrokerCalls, BrokerThreadData>();
const { endpoint, data } = thread;

/**
 * Topics remembered as allowed per connection; past this the gateway is asked each time. A device
 * publishes on two or three; a downstream system, or an open broker (mqtt.auth.required false) with
 * many devices behind one connection, on more.
 */
const MAX_ALLOWED_TOPICS = 4096;
const STATS_EVERY_MS = 1000;
/**
 * A batch this big waiting to be handed over, without credit, holds every read: a few dozen typical
 * messages. Small on purpose: what waits beyond it stays in the sockets, where fair reads serve a
 * quiet device first, rather than in a queue in front of the pipeline, where it would lengthen the
 * time from a publish to its alert.
 */
const HIGH_WATER_BYTES = 16 * 1024;
/** Every message goes to the gateway's thread, which routes it (the thread does not know the models). */
const HAND_OVER = { deviceId: '', kind: 'telemetry' } as const;

const reads = new FairReads({ budgetMs: data.listener.readBudgetMs || Number.POSITIVE_INFINITY });
const stream = new EdgeStream(endpoint, data.intake, thread.logger, HIGH_WATER_BYTES, () => reads.release());
/** Times reads were held for back-pressure. */
let holds = 0;

/** An event goes after the messages taken in before it. */
function event<K extends keyof BrokerEvents>(name: K, v: BrokerEvents[K]): void {
  stream.flush();
  endpoint.event(name, v);
}

const conns = new WeakMap<Client, number>();
const clients = new Map<number, Client>();
/** Replaced whole on `forget` (a WeakMap cannot be cleared), with `generation` moved on. */
let allowed = new WeakMap<Client, Set<string>>();
/** Moves on at each `forget`: a verdict asked for before it is not remembered after it. */
let generation = 0;
let lastConn = 0;

function connOf(client: Client): number {
  const known = conns.get(client);
  if (known !== undefined) return known;
  const n = ++lastConn;
  conns.set(client, n);
  clients.set(n, client);
  (client.conn as Socket).once('close', () => {
    clients.delete(n);
    event('gone', n);
  });
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
  if (!verdict) return false;
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
  ...data.listener,
  reads,
  logger: thread.logger,
  route: () => HAND_OVER,
  onMessage(msg, client, qos = 0) {
    const c = client as Client;
    stream.take(msg.topic, msg.payload, qos, c.conn as Socket, connOf(c), msg.receivedAt);
    if (stream.full && !reads.held) {
      holds++;
      reads.hold();
    }
  },
  onConnectivity: (clientId, online, at, client) =>
    event('client', { conn: connOf(client), clientId, online, at }),
  onOversize: (clientId, topic, size) => event('oversize', { clientId, topic, size }),
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
    ? (client, sub) =>
        endpoint.call('authorizeSubscribe', {
          conn: connOf(client),
          clientId: client.id,
          topic: sub.topic,
          qos: sub.qos,
        })
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
  if (name === 'settled') return stream.settled(v as number);
  if (name !== 'close') return;
  const client = clients.get(v as number);
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
  clearInterval(statsTimer);
  // The PUBACKs of what is taken in go out while the connections are still open.
  stream.end();
  await broker.stop();
  // Everything taken in (and acknowledged) goes over before the reply.
  stream.close();
  sendStats();
  setImmediate(thread.close);
});

// What was acknowledged before the last stop and not yet written goes first, before any client.
stream
  .replay()
  .then(() => broker.start())
  .then(
    () => thread.ready({ port: broker.port } satisfies BrokerReady),
    (err: unknown) => thread.fail(err),
  );
