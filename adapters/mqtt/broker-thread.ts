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
 * device models' topics changed (`forget`). The gateway checks each message
 * again as it takes it (a device retired while connected), and asks this thread to close the
 * connection when it refuses one.
 *
 * Back-pressure: with MAX_IN_FLIGHT batches handed over and not yet processed, a batch that grows
 * past highWaterBytes holds every read (FairReads.hold), so the sockets' buffers and TCP's window
 * push back on the devices, as when the broker shared the gateway's thread and that thread was busy.
 */
import type { Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { Client } from 'aedes';
import type { Logger } from 'pino';
import type {
  BrokerAsk,
  BrokerThreadData,
  BrokerVerdict,
  FromBrokerThread,
  ToBrokerThread,
} from './broker-protocol.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { FairReads } from './fair-reads.js';
import type { WireError } from './io-protocol.js';
import { MessageBatchWriter } from './message-batch.js';

const port = parentPort;
if (!port) throw new Error('broker-thread.js runs as a worker thread of ThreadedEmbeddedBroker');
const data = workerData as BrokerThreadData;
const post = (msg: FromBrokerThread, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer);
const wire = (err: unknown): WireError => ({
  message: err instanceof Error ? err.message : String(err),
  code: (err as { code?: string | number } | undefined)?.code,
});

/** Batches handed over and not yet processed by the gateway's thread, at most (unless an event must go). */
const MAX_IN_FLIGHT = 2;
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
let inFlight = 0;
let stopping = false;
/** Times reads were held for back-pressure. */
let holds = 0;

function handOver(force = false): void {
  scheduled = false;
  if (batch.count === 0 || (inFlight >= MAX_IN_FLIGHT && !force && !stopping)) return;
  const { buffer, byteLength } = batch.take();
  inFlight++;
  post({ t: 'msgs', buffer, byteLength }, [buffer]);
}

/** An event goes after the messages taken in before it. */
function event(msg: FromBrokerThread): void {
  handOver(true);
  post(msg);
}

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

const asks = new Map<number, { resolve(v: BrokerVerdict): void; reject(e: Error): void }>();
let lastAsk = 0;
function ask(q: BrokerAsk): Promise<BrokerVerdict> {
  const id = ++lastAsk;
  return new Promise((resolve, reject) => {
    asks.set(id, { resolve, reject });
    post({ t: 'ask', id, ...q });
  });
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
const logAt =
  (level: keyof typeof LEVELS) =>
  (obj: Record<string, unknown>, msg: string): void => {
    if (LEVELS[level] < data.logLevel) return;
    try {
      post({ t: 'log', level, obj, msg });
    } catch {
      post({ t: 'log', level, obj: { detail: String(JSON.stringify(obj)).slice(0, 2000) }, msg });
    }
  };
const logger = {
  debug: logAt('debug'),
  info: logAt('info'),
  warn: logAt('warn'),
  error: logAt('error'),
} as unknown as Logger;

const broker = new EmbeddedBroker({
  host: data.host,
  port: data.port,
  maxPayloadBytes: data.maxPayloadBytes,
  maxPacketBytes: data.maxPacketBytes,
  tls: data.tls,
  maxConnectionsPerIp: data.maxConnectionsPerIp,
  reads,
  logger,
  route: () => HAND_OVER,
  onMessage(msg, client) {
    batch.add(msg.topic, msg.payload, client ? connOf(client) : 0, msg.receivedAt);
    if (!scheduled) {
      scheduled = true;
      setImmediate(handOver);
    }
    if (inFlight >= MAX_IN_FLIGHT && batch.bytes > data.highWaterBytes && !reads.held) {
      holds++;
      reads.hold();
    }
  },
  onConnectivity: (clientId, online, at, client) =>
    event({ t: 'client', conn: connOf(client), clientId, online, at }),
  onOversize: (clientId, topic, size) => event({ t: 'oversize', clientId, topic, size }),
  authenticate: data.hooks.authenticate
    ? async (client, username, password) => {
        const verdict = await ask({
          what: 'authenticate',
          conn: connOf(client),
          clientId: client.id,
          remote: (client.conn as Socket).remoteAddress ?? 'unknown',
          username,
          password: password === undefined ? undefined : new Uint8Array(password),
        });
        return verdict;
      }
    : undefined,
  authorizePublish: data.hooks.authorizePublish
    ? (client, packet) => {
        if (allowed.get(client)?.has(packet.topic)) return true;
        const topic = packet.topic;
        const asked = generation;
        return ask({
          what: 'publish',
          conn: connOf(client),
          clientId: client.id,
          topic,
          qos: packet.qos,
          retain: packet.retain,
        }).then((verdict) => {
          if (verdict !== true) return false;
          if (asked !== generation) return true;
          let set = allowed.get(client);
          if (!set) {
            set = new Set<string>();
            allowed.set(client, set);
          }
          if (set.size < MAX_ALLOWED_TOPICS) set.add(topic);
          return true;
        });
      }
    : undefined,
  authorizeSubscribe: data.hooks.authorizeSubscribe
    ? async (client, sub) =>
        (await ask({
          what: 'subscribe',
          conn: connOf(client),
          clientId: client.id,
          topic: sub.topic,
          qos: sub.qos,
        })) === true
    : undefined,
});

function sendStats(): void {
  post({
    t: 'stats',
    stats: {
      broker: { ...broker.stats },
      connectedClients: broker.connectedClients,
      fairness: { ...reads.stats },
      holds,
    },
  });
}
const statsTimer = setInterval(sendStats, STATS_EVERY_MS);

const reply = (id: number, err?: unknown) =>
  post({ t: 'reply', id, ...(err === undefined ? {} : { error: wire(err) }) });

port.on('message', (msg: ToBrokerThread) => {
  switch (msg.t) {
    case 'done':
      inFlight--;
      handOver();
      if (batch.bytes <= data.highWaterBytes / 2) reads.release();
      return;
    case 'verdict': {
      const pending = asks.get(msg.id);
      asks.delete(msg.id);
      if (!pending) return;
      if (msg.error) pending.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else pending.resolve(msg.verdict ?? false);
      return;
    }
    case 'publish':
      broker
        .publish(msg.topic, Buffer.from(msg.payload.buffer, msg.payload.byteOffset, msg.payload.byteLength), {
          qos: msg.qos,
          retain: msg.retain,
        })
        .then(
          () => reply(msg.id),
          (err: unknown) => reply(msg.id, err),
        );
      return;
    case 'close': {
      const client = clients.get(msg.conn);
      if (client) {
        allowed.delete(client);
        client.close();
      }
      return;
    }
    case 'forget':
      allowed = new WeakMap();
      generation++;
      reply(msg.id);
      return;
    case 'stop':
      stopping = true;
      clearInterval(statsTimer);
      reads.release();
      void broker.stop().then(
        () => {
          // Everything taken in (and acknowledged) goes over before the reply.
          handOver(true);
          sendStats();
          reply(msg.id);
          port.close();
        },
        (err: unknown) => reply(msg.id, err),
      );
      return;
  }
});

broker.start().then(
  () => post({ t: 'listening', port: broker.port }),
  (err: unknown) => {
    post({ t: 'failed', error: wire(err) });
    port.close();
  },
);
