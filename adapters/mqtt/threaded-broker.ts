import type { PublishPacket } from 'aedes';
import { ThreadChannel } from '../threads/channel.js';
import type {
  BrokerAsk,
  BrokerAsks,
  BrokerCalls,
  BrokerEvent,
  BrokerReady,
  BrokerThreadStats,
} from './broker-protocol.js';
import { proxyOf, ThreadConns, verdictFor } from './broker-thread-clients.js';
import { brokerThreadData, type ThreadedEmbeddedBrokerOptions } from './broker-thread-data.js';
import { callbackGuard } from './callback-guard.js';
import { type EmbeddedBrokerStats, zeroBrokerStats } from './embedded-broker-options.js';
import type { FairReadsStats } from './fair-reads.js';
import { IntakeCheckpoint } from './intake-checkpoint.js';
import { type MessagesBatch, readMessageBatch, TopicTable } from './message-batch.js';
import { RouteMemo } from './route-memo.js';
import { inboundMqtt, type MqttIngress, type PublishOptions } from './types.js';

export type { ThreadedEmbeddedBrokerOptions } from './broker-thread-data.js';

const STOP_TIMEOUT_MS = 5000;
const RESTART = { firstMs: 1000, maxMs: 30_000, calmMs: 60_000 };

/**
 * The embedded broker on a worker thread of its own (broker-thread.ts), through the thread channel,
 * behind the same options and MqttIngress interface as EmbeddedBroker: the broker's socket reads,
 * MQTT parsing and acks use one core, the pipeline (decode, rules, writes) the other. The hooks run
 * on this thread, as they do with EmbeddedBroker: the thread asks for CONNECT and SUBSCRIBE verdicts
 * and for the first PUBLISH of a connection on a topic, and this side checks every message again
 * as it takes it (so a device retired while connected is cut off). Messages, connectivity and
 * oversize events arrive in one ordered stream.
 *
 * Differences from EmbeddedBroker: `now` is not used (the thread stamps receive times with its own
 * clock), stats other than messages/unrouted are the thread's, sent each second, and a QoS 1
 * message is acknowledged once the thread has it (a crash loses the batch in flight, at most a few
 * MB; stop() loses nothing). A thread that dies is logged, its clients reported offline, and a new
 * one starts on the same port.
 */
export class ThreadedEmbeddedBroker implements MqttIngress {
  private boundPort = 0;
  private stopping = false;
  private readonly channel: ThreadChannel<BrokerCalls, BrokerAsks, BrokerReady>;
  private readonly conns = new ThreadConns();
  /** The thread numbers the topics it sends; a new thread starts its numbering afresh. */
  private topics = new TopicTable();
  private readonly routes = new RouteMemo((topic) => this.opts.route(topic));
  private threadStats: BrokerThreadStats = {
    broker: zeroBrokerStats(),
    connectedClients: 0,
    fairness: { deferred: 0, rounds: 0 },
    holds: 0,
  };
  private readonly counts = { messages: 0, unrouted: 0, callbackErrors: 0 };
  private readonly safe: (fn: () => void) => void;
  private readonly checkpoint: IntakeCheckpoint | undefined;
  /** Reused for the per-message re-check (the hooks read its topic). */
  private readonly packet: PublishPacket = {
    cmd: 'publish',
    topic: '',
    payload: Buffer.alloc(0),
    qos: 0,
    retain: false,
    dup: false,
  };

  constructor(private readonly opts: ThreadedEmbeddedBrokerOptions) {
    this.safe = callbackGuard(this.counts, opts.logger);
    this.checkpoint =
      opts.intake &&
      new IntakeCheckpoint(
        opts.intake,
        (seq) => {
          if (this.channel.running) this.channel.event('settled', seq);
        },
        (err) => opts.logger.error({ err }, 'mqtt intake checkpoint could not be written'),
      );
    this.channel = new ThreadChannel<BrokerCalls, BrokerAsks, BrokerReady>(
      {
        callerUrl: import.meta.url,
        module: 'broker-thread',
        name: 'mqtt broker thread',
        logger: opts.logger,
        restart: RESTART,
        stopTimeoutMs: STOP_TIMEOUT_MS,
      },
      () => {
        this.topics = new TopicTable();
        return brokerThreadData(opts, this.boundPort || opts.port);
      },
    );
    const ask =
      <A extends { conn: number; clientId: string }>(what: BrokerAsk['what'], remote?: (a: A) => string) =>
      (a: A) => {
        const c = this.conns.ensure(a.conn, a.clientId, remote?.(a) ?? 'unknown');
        return verdictFor(this.opts, c, { what, ...a } as unknown as BrokerAsk, this.packet);
      };
    this.channel.handle(
      'authenticate',
      ask('authenticate', (a) => a.remote),
    );
    this.channel.handle('authorizePublish', ask('publish'));
    this.channel.handle('authorizeSubscribe', ask('subscribe'));
    this.channel.onItem = (name, v) => this.onItem(name, v);
    this.channel.onExit = () => {
      this.allGone();
      return { port: this.boundPort };
    };
    this.channel.onRestart = (r) => {
      this.boundPort = r.port;
    };
  }

  /** Times the broker thread held all reads because this thread had not taken its batches (sent each second). */
  get holds(): number {
    return this.threadStats.holds;
  }

  /** A broker thread runs (false between a thread's death and its successor's start). */
  get running(): boolean {
    return this.channel.running;
  }

  /** The broker thread (tests end it to see a new one take over). */
  get thread() {
    return this.channel.worker;
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

  /** Messages in the intake log whose readings are not yet in the database or the spool. */
  get intakeUnsettled(): number {
    return this.checkpoint?.unsettled ?? 0;
  }

  get fairness(): Readonly<FairReadsStats> | undefined {
    return this.opts.readBudgetMs ? this.threadStats.fairness : undefined;
  }

  async start(): Promise<void> {
    if (this.channel.running) return;
    this.stopping = false;
    this.boundPort = (await this.channel.start()).port;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.channel.stop();
    this.conns.clear();
  }

  publish(topic: string, payload: Buffer | string, opts: PublishOptions = {}): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    if (!this.channel.running)
      return Promise.reject(new Error(`embedded broker is not running; cannot publish to ${topic}`));
    return this.channel.call('publish', {
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
    if (!this.channel.running) return Promise.resolve();
    return this.channel.call('forget', undefined).catch((err: unknown) => {
      if (this.channel.running) throw err;
    });
  }

  private onItem(name: string, v: unknown): void {
    switch (name) {
      case 'msgs': {
        const b = v as MessagesBatch;
        readMessageBatch(
          b.buffer,
          b.byteLength,
          this.topics,
          (topic, payload, conn, at) => this.take(topic, payload, conn, at),
          (err) => this.opts.logger.error({ err }, 'mqtt ingress callback threw'),
        );
        this.checkpoint?.afterBatch(b.seq);
        return;
      }
      case 'stats':
        this.threadStats = v as BrokerThreadStats;
        return;
      case 'event':
        this.onEvent(v as BrokerEvent);
        return;
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
        this.channel.event('close', { conn });
        return;
      }
    }
    this.counts.messages++;
    this.safe(() => this.opts.onMessage(inboundMqtt(routed, topic, payload, at, clientId)));
  }

  private onEvent(e: BrokerEvent): void {
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
        this.conns.delete(e.conn);
        return;
      case 'oversize':
        this.safe(() => o.onOversize?.(e.clientId, e.topic, e.size));
        return;
    }
  }

  /** The thread died: every client it had is offline. */
  private allGone(): void {
    for (const c of this.conns.values()) {
      if (c.online && !this.stopping)
        this.safe(() => this.opts.onConnectivity?.(c.clientId, false, Date.now(), c.proxy));
    }
    this.conns.clear();
  }
}
