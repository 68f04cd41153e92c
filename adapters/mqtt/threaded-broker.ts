import type { Worker } from 'node:worker_threads';
import type { PublishPacket } from 'aedes';
import { endThread, spawnSibling } from '../threads/spawn.js';
import type { BrokerAsk, BrokerThreadStats, FromBrokerThread, ToBrokerThread } from './broker-protocol.js';
import { proxyOf, ThreadConns, verdictFor } from './broker-thread-clients.js';
import { brokerThreadData, type ThreadedEmbeddedBrokerOptions } from './broker-thread-data.js';
import { type EmbeddedBrokerStats, zeroBrokerStats } from './embedded-broker-options.js';
import type { FairReadsStats } from './fair-reads.js';
import { readMessageBatch, TopicTable } from './message-batch.js';
import { RouteMemo } from './route-memo.js';
import { ThreadReplies, toError, type WithoutId } from './thread-replies.js';
import type { MqttIngress, PublishOptions } from './types.js';

export type { ThreadedEmbeddedBrokerOptions } from './broker-thread-data.js';

const STOP_TIMEOUT_MS = 5000;
const RESPAWN_DELAY_MS = 1000;

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
  private readonly conns = new ThreadConns();
  private readonly items: Item[] = [];
  private draining = false;
  private readonly routes = new RouteMemo((topic) => this.opts.route(topic));
  private readonly replies = new ThreadReplies();
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

  /**
   * Routes remembered here (device topics and topics that route nowhere) and the topics each
   * connection was allowed on in the thread are forgotten: the next message on any topic is routed
   * with the current router and its first publish per connection asks authorizePublish again.
   */
  forgetRoutes(_filters?: readonly string[]): Promise<void> {
    this.routes.clear();
    // A thread starting later knows nothing yet; one that dies meanwhile is replaced the same way.
    if (!this.worker) return Promise.resolve();
    return this.call({ t: 'forget' }).catch((err: unknown) => {
      if (this.worker) throw err;
    });
  }

  private call(
    msg: WithoutId<Extract<ToBrokerThread, { id: number; t: 'publish' | 'stop' | 'forget' }>>,
  ): Promise<void> {
    const worker = this.worker;
    if (!worker) {
      const what = msg.t === 'publish' ? `cannot publish to ${msg.topic}` : `cannot ${msg.t}`;
      return Promise.reject(new Error(`embedded broker is not running; ${what}`));
    }
    return this.replies.call(worker, msg);
  }

  private spawn(port: number): Promise<void> {
    const o = this.opts;
    const data = brokerThreadData(o, port);
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
        this.replies.failAll('mqtt broker thread exited');
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
      case 'reply':
        this.replies.settle(msg.id, msg.error);
        return;
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
    const routed = this.routes.get(topic);
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

  private onEvent(e: FromBrokerThread): void {
    const o = this.opts;
    switch (e.t) {
      case 'client': {
        // Offline may come after the connection's 'gone': then it is not remembered again.
        const c = e.online ? this.conns.ensure(e.conn, e.clientId, 'unknown') : this.conns.get(e.conn);
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

  private answer(worker: Worker, q: { id: number } & BrokerAsk): void {
    const c = this.conns.ensure(q.conn, q.clientId, q.what === 'authenticate' ? q.remote : 'unknown');
    const send = (msg: ToBrokerThread) => {
      if (this.worker === worker) worker.postMessage(msg);
    };
    verdictFor(this.opts, c, q, this.packet).then(
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
