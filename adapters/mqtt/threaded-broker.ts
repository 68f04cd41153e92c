import type { Worker } from 'node:worker_threads';
import type { Client, PublishPacket } from 'aedes';
import { endThread, spawnSibling } from '../threads/spawn.js';
import type {
  BrokerAsk,
  BrokerThreadData,
  BrokerThreadStats,
  BrokerVerdict,
  FromBrokerThread,
  ToBrokerThread,
} from './broker-protocol.js';
import { type EmbeddedBrokerOptions, type EmbeddedBrokerStats, zeroBrokerStats } from './embedded-broker.js';
import type { FairReadsStats } from './fair-reads.js';
import type { WireError } from './io-protocol.js';
import { readMessageBatch, TopicTable } from './message-batch.js';
import type { MqttIngress, PublishOptions, RoutedTopic } from './types.js';

/**
 * A batch waiting to be handed over this big (two more handed over) holds the broker's reads: ~80
 * typical messages. Small on purpose: what waits beyond it stays in the sockets, where fair reads
 * serve a quiet device first, instead of in a FIFO in front of the pipeline (1 MiB here measured p99
 * publish -> alert 46-56 ms in bench scenario 3 at 50% of max, 16 KiB with a 0.5 ms read turn 18-30 ms).
 */
const HIGH_WATER_BYTES = 16 * 1024;
const STOP_TIMEOUT_MS = 5000;
const RESPAWN_DELAY_MS = 1000;
/** Topics whose routing is remembered (device topics: a few per device); past this it starts over. */
const MAX_ROUTES = 200_000;

export interface ThreadedEmbeddedBrokerOptions extends EmbeddedBrokerOptions {
  /** A batch this big waiting in the thread, with two more handed over and not processed, holds all reads. Default 16 KiB. */
  highWaterBytes?: number;
}

/** What the gateway knows of a connection of the broker thread. */
interface Conn {
  clientId: string;
  /** Stands for the aedes client in the gateway's hooks: its id and remote address, as DeviceAuth reads them. */
  proxy: Client;
  online: boolean;
  closing: boolean;
}

type Item =
  | { batch: { buffer: ArrayBuffer; byteLength: number; from: Worker; topics: TopicTable } }
  | { event: FromBrokerThread };

/**
 * The embedded broker on a worker thread of its own (broker-thread.ts), behind the same options and
 * MqttIngress interface as EmbeddedBroker: the broker's socket reads, MQTT parsing and acks use one
 * core, the pipeline (decode, rules, writes) the other. The hooks run on this thread, as they do
 * with EmbeddedBroker: the thread asks for CONNECT and SUBSCRIBE verdicts and for the first PUBLISH
 * of a connection on a topic, and this side checks every message again as it takes it (so a device
 * retired while connected is cut off). Messages, connectivity and oversize events arrive in one
 * ordered stream, processed one batch per event-loop turn.
 *
 * Differences from EmbeddedBroker: `now` is not used (the thread stamps receive times with its own
 * clock), stats other than messages/unrouted are the thread's, sent each second, and a QoS 1
 * message is acknowledged once the thread has it (a crash loses the batch in flight, at most a few
 * MB; stop() loses nothing). A thread that dies is logged, its clients reported offline, and a new
 * one starts on the same port.
 */
export class ThreadedEmbeddedBroker implements MqttIngress {
  private worker: Worker | undefined;
  private boundPort = 0;
  private listening = false;
  private stopping = false;
  private readonly conns = new Map<number, Conn>();
  private readonly items: Item[] = [];
  private draining = false;
  private readonly routes = new Map<string, RoutedTopic | null>();
  private readonly replies = new Map<number, (error?: WireError) => void>();
  private lastCall = 0;
  private threadStats: BrokerThreadStats = {
    broker: zeroBrokerStats(),
    connectedClients: 0,
    fairness: { deferred: 0, rounds: 0 },
    holds: 0,
  };
  private readonly counts = { messages: 0, unrouted: 0, callbackErrors: 0 };
  /** Reused for the per-message re-check (the hooks read its topic). */
  private readonly packet: PublishPacket = {
    cmd: 'publish',
    topic: '',
    payload: Buffer.alloc(0),
    qos: 0,
    retain: false,
    dup: false,
  };

  constructor(private readonly opts: ThreadedEmbeddedBrokerOptions) {}

  /** Times the broker thread held all reads because this thread had not taken its batches (sent each second). */
  get holds(): number {
    return this.threadStats.holds;
  }

  /** A broker thread is listening (false between a thread's death and its successor's start). */
  get running(): boolean {
    return this.listening;
  }

  /** The broker thread (tests end it to see a new one take over). */
  get thread(): Worker | undefined {
    return this.worker;
  }

  get port(): number {
    return this.boundPort;
  }

  get connectedClients(): number {
    return this.threadStats.connectedClients;
  }

  get stats(): Readonly<EmbeddedBrokerStats> {
    const t = this.threadStats.broker;
    return {
      ...t,
      messages: this.counts.messages,
      unrouted: this.counts.unrouted,
      callbackErrors: t.callbackErrors + this.counts.callbackErrors,
    };
  }

  get fairness(): Readonly<FairReadsStats> | undefined {
    return this.opts.readBudgetMs ? this.threadStats.fairness : undefined;
  }

  async start(): Promise<void> {
    if (this.worker) return;
    this.stopping = false;
    await this.spawn(this.opts.port);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    if (worker) {
      await endThread(worker, () => this.call({ t: 'stop' }), STOP_TIMEOUT_MS);
      this.worker = undefined;
    }
    while (this.items.length > 0) this.drainOne();
    this.conns.clear();
  }

  publish(topic: string, payload: Buffer | string, opts: PublishOptions = {}): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    return this.call({
      t: 'publish',
      topic,
      payload: bytes,
      qos: opts.qos ?? 0,
      retain: opts.retain ?? false,
    });
  }

  private call(
    msg: WithoutId<Extract<ToBrokerThread, { id: number; t: 'publish' | 'stop' }>>,
  ): Promise<void> {
    const worker = this.worker;
    if (!worker) {
      const what = msg.t === 'publish' ? `cannot publish to ${msg.topic}` : 'cannot stop';
      return Promise.reject(new Error(`embedded broker is not running; ${what}`));
    }
    const id = ++this.lastCall;
    return new Promise<void>((resolve, reject) => {
      this.replies.set(id, (error) => (error ? reject(toError(error)) : resolve()));
      worker.postMessage({ ...msg, id });
    });
  }

  private spawn(port: number): Promise<void> {
    const o = this.opts;
    const data: BrokerThreadData = {
      host: o.host,
      port,
      maxPayloadBytes: o.maxPayloadBytes,
      maxPacketBytes: o.maxPacketBytes,
      tls: o.tls,
      maxConnectionsPerIp: o.maxConnectionsPerIp,
      readBudgetMs: o.readBudgetMs,
      highWaterBytes: o.highWaterBytes ?? HIGH_WATER_BYTES,
      logLevel: levelOf(o.logger),
      hooks: {
        authenticate: o.authenticate !== undefined,
        authorizePublish: o.authorizePublish !== undefined,
        authorizeSubscribe: o.authorizeSubscribe !== undefined,
      },
    };
    const worker = spawnSibling(import.meta.url, 'broker-thread', data);
    this.worker = worker;
    const topics = new TopicTable();
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      worker.on('message', (msg: FromBrokerThread) => {
        if (msg.t === 'listening') {
          listening = true;
          this.listening = true;
          this.boundPort = msg.port;
          resolve();
        } else if (msg.t === 'failed') reject(toError(msg.error));
        else this.onThread(worker, topics, msg);
      });
      worker.on('error', (err) => {
        o.logger.error({ err }, 'mqtt broker thread failed');
        if (!listening) reject(err);
      });
      worker.on('exit', (code) => {
        if (this.worker !== worker) return;
        this.worker = undefined;
        this.listening = false;
        for (const settle of this.replies.values()) settle({ message: 'mqtt broker thread exited' });
        this.replies.clear();
        if (!listening) reject(new Error(`mqtt broker thread exited (code ${code}) before listening`));
        if (!this.stopping && listening) this.respawn(code);
      });
    });
  }

  /** The thread died: its connections are gone (reported offline once the messages before are processed); a new one takes the port. */
  private respawn(code: number): void {
    this.opts.logger.error({ code, port: this.boundPort }, 'mqtt broker thread exited; starting a new one');
    this.items.push({ event: { t: 'gone', conn: -1 } });
    this.kick();
    setTimeout(() => {
      if (this.stopping || this.worker) return;
      this.spawn(this.boundPort).catch((err: unknown) =>
        this.opts.logger.error({ err }, 'mqtt broker thread could not be restarted'),
      );
    }, RESPAWN_DELAY_MS).unref();
  }

  private onThread(worker: Worker, topics: TopicTable, msg: FromBrokerThread): void {
    switch (msg.t) {
      case 'msgs':
        this.items.push({ batch: { buffer: msg.buffer, byteLength: msg.byteLength, from: worker, topics } });
        // At most MAX_IN_FLIGHT batches are out, so taking one here, in the port's callback, is
        // bounded work; waiting for the next turn would add that turn's other work to its latency.
        if (this.items.length === 1 && !this.draining) this.drainOne();
        else this.kick();
        return;
      case 'ask':
        this.answer(worker, msg);
        return;
      case 'stats':
        this.threadStats = msg.stats;
        return;
      case 'log':
        this.opts.logger[msg.level](msg.obj, msg.msg);
        return;
      case 'reply': {
        const settle = this.replies.get(msg.id);
        this.replies.delete(msg.id);
        settle?.(msg.error);
        return;
      }
      default:
        // client, gone, oversize: in order with the messages.
        if (this.items.length === 0) this.onEvent(msg);
        else this.items.push({ event: msg });
    }
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    // A backlog is taken one batch per turn, so the thread's other I/O (HTTP API, timers) does not
    // wait behind it.
    setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.draining = false;
    this.drainOne();
    if (this.items.length > 0) this.kick();
  };

  /** The next batch and the events queued up to the one after it. */
  private drainOne(): void {
    let item = this.items.shift();
    while (item && 'event' in item) {
      this.onEvent(item.event);
      item = this.items.shift();
    }
    if (!item) return;
    const b = item.batch;
    try {
      readMessageBatch(
        b.buffer,
        b.byteLength,
        b.topics,
        (topic, payload, conn, at) => this.take(topic, payload, conn, at),
        (err) => this.opts.logger.error({ err }, 'mqtt ingress callback threw'),
      );
    } finally {
      if (this.worker === b.from) b.from.postMessage({ t: 'done' } satisfies ToBrokerThread);
    }
    while (this.items.length > 0 && 'event' in this.items[0]!) {
      this.onEvent((this.items.shift() as { event: FromBrokerThread }).event);
    }
  }

  private take(topic: string, payload: Buffer, conn: number, at: number): void {
    const c = this.conns.get(conn);
    const clientId = c?.clientId ?? '';
    const routed = this.route(topic);
    if (!routed) {
      this.counts.unrouted++;
      this.safe(() => this.opts.onUnrouted?.(topic, clientId, payload.length));
      return;
    }
    const check = this.opts.authorizePublish;
    if (check && c !== undefined) {
      if (c.closing) return;
      this.packet.topic = topic;
      this.packet.payload = payload;
      let verdict: boolean | Promise<boolean> = true;
      try {
        verdict = check(c.proxy, this.packet);
      } catch (err) {
        this.opts.logger.error({ err, clientId }, 'mqtt authorizePublish hook failed');
      }
      if (verdict === false) {
        c.closing = true;
        this.worker?.postMessage({ t: 'close', conn } satisfies ToBrokerThread);
        return;
      }
    }
    this.counts.messages++;
    this.safe(() =>
      this.opts.onMessage({
        transport: 'mqtt',
        kind: routed.kind,
        deviceId: routed.deviceId,
        topic,
        payload,
        receivedAt: at,
        clientId,
      }),
    );
  }

  private route(topic: string): RoutedTopic | undefined {
    let r = this.routes.get(topic);
    if (r === undefined) {
      r = this.opts.route(topic) ?? null;
      if (this.routes.size >= MAX_ROUTES) this.routes.clear();
      this.routes.set(topic, r);
    }
    return r ?? undefined;
  }

  private onEvent(e: FromBrokerThread): void {
    const o = this.opts;
    switch (e.t) {
      case 'client': {
        // Offline may come after the connection's 'gone': then it is not remembered again.
        const c = e.online ? this.conn(e.conn, e.clientId, 'unknown') : this.conns.get(e.conn);
        if (c) c.online = e.online;
        const proxy = c?.proxy ?? proxyOf(e.clientId, 'unknown');
        this.safe(() => o.onConnectivity?.(e.clientId, e.online, e.at, proxy));
        return;
      }
      case 'gone':
        if (e.conn >= 0) {
          this.conns.delete(e.conn);
          return;
        }
        // The whole thread went: every client it had is offline.
        for (const c of this.conns.values()) {
          if (c.online && !this.stopping)
            this.safe(() => o.onConnectivity?.(c.clientId, false, Date.now(), c.proxy));
        }
        this.conns.clear();
        return;
      case 'oversize':
        this.safe(() => o.onOversize?.(e.clientId, e.topic, e.size));
        return;
    }
  }

  private conn(n: number, clientId: string, remote: string): Conn {
    let c = this.conns.get(n);
    if (!c) {
      c = { clientId, proxy: proxyOf(clientId, remote), online: false, closing: false };
      this.conns.set(n, c);
    }
    return c;
  }

  private answer(worker: Worker, q: { id: number } & BrokerAsk): void {
    const o = this.opts;
    const c = this.conn(q.conn, q.clientId, q.what === 'authenticate' ? q.remote : 'unknown');
    let verdict: Promise<BrokerVerdict>;
    try {
      switch (q.what) {
        case 'authenticate':
          verdict = o.authenticate
            ? o.authenticate(c.proxy, q.username, q.password && Buffer.from(q.password))
            : Promise.resolve(true);
          break;
        case 'publish':
          this.packet.topic = q.topic;
          this.packet.payload = Buffer.alloc(0);
          verdict = Promise.resolve(
            o.authorizePublish
              ? o.authorizePublish(c.proxy, { ...this.packet, qos: q.qos, retain: q.retain })
              : true,
          );
          break;
        case 'subscribe':
          verdict = o.authorizeSubscribe
            ? o.authorizeSubscribe(c.proxy, { topic: q.topic, qos: q.qos })
            : Promise.resolve(true);
          break;
      }
    } catch (err) {
      verdict = Promise.reject(err);
    }
    const send = (msg: ToBrokerThread) => {
      if (this.worker === worker) worker.postMessage(msg);
    };
    verdict.then(
      (v) => send({ t: 'verdict', id: q.id, verdict: v }),
      (err: unknown) =>
        send({
          t: 'verdict',
          id: q.id,
          error: { message: err instanceof Error ? err.message : String(err) },
        }),
    );
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.counts.callbackErrors++;
      this.opts.logger.error({ err }, 'mqtt ingress callback threw');
    }
  }
}

function proxyOf(clientId: string, remote: string): Client {
  return { id: clientId, conn: { remoteAddress: remote } } as unknown as Client;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

function toError(e: WireError): Error {
  return Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code });
}

/** pino's numeric level (Infinity when silent), so the thread sends only records that would be written. */
function levelOf(logger: { levelVal?: number; level?: string }): number {
  if (logger.level === 'silent') return Number.POSITIVE_INFINITY;
  return typeof logger.levelVal === 'number' ? logger.levelVal : 30;
}
