import type { Client, PublishPacket } from 'aedes';
import { ThreadChannel } from '../threads/channel.js';
import { EdgeStreamReader } from './edge-stream.js';
import {
  type ConnackRefusal,
  type EmbeddedBrokerOptions,
  type EmbeddedBrokerStats,
  zeroBrokerStats,
} from './embedded-broker-options.js';
import type { FairReadsStats } from './fair-reads.js';
import type { IntakeWiring } from './intake-checkpoint.js';
import type { IntakeLogConfig } from './intake-log.js';
import { callbackGuard, inboundMqtt, type MqttIngress, type PublishOptions, RouteMemo } from './types.js';

const STOP_TIMEOUT_MS = 5000;
const RESTART = { firstMs: 1000, maxMs: 30_000, calmMs: 60_000 };

export interface ThreadedEmbeddedBrokerOptions extends EmbeddedBrokerOptions {
  /** QoS 1 messages are logged to disk before they are acknowledged (intake-checkpoint.ts). */
  intake?: IntakeWiring;
}

/*
 * ThreadedEmbeddedBroker <-> broker-thread.ts over the thread channel (adapters/threads/).
 * Structured-cloneable only: the gateway's hooks stay on its thread, and the broker thread asks for
 * verdicts. Connections are named by a number the thread gives each aedes client (`conn`), not by
 * client id: a client id can be taken over by a new connection while the old one's messages are in
 * flight. The gateway's side sends `close` (the number of a connection whose message it refused on
 * its re-check) and `settled` (edge-stream.ts).
 */

export interface BrokerThreadData {
  /** The options the thread's EmbeddedBroker takes as they are (no functions cross threads). */
  listener: Pick<
    EmbeddedBrokerOptions,
    'host' | 'port' | 'maxPayloadBytes' | 'tls' | 'maxConnectionsPerIp' | 'readBudgetMs' | 'persistence'
  >;
  /** Which gateway hooks exist (absent ones allow in the thread, as EmbeddedBroker's defaults do). */
  hooks: { authenticate: boolean; authorizePublish: boolean; authorizeSubscribe: boolean };
  /** Where QoS 1 messages are logged before they are acknowledged; none: acknowledged as taken in. */
  intake?: IntakeLogConfig;
}

/** Totals the thread counts (its EmbeddedBroker's stats and its read pacing). */
export interface BrokerThreadStats {
  /** messages and unrouted here count every publish handed over; the gateway's side routes and counts those. */
  broker: EmbeddedBrokerStats;
  connectedClients: number;
  fairness: FairReadsStats;
  /** Times every read was held because the gateway's thread had not taken the batches handed over. */
  holds: number;
}

/** The thread's events, in order with its `msgs` batches. */
export interface BrokerEvents {
  client: { conn: number; clientId: string; online: boolean; at: number };
  /** A connection closed. */
  gone: number;
  oversize: { clientId?: string; topic: string; size: number };
  /** Each second. */
  stats: BrokerThreadStats;
}

export type BrokerCalls = {
  publish: [{ topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean }, undefined];
  /** The device models' topics changed: forget the topics each connection was allowed to publish on. */
  forget: [undefined, undefined];
  stop: [undefined, undefined];
};

interface ConnAsk {
  conn: number;
  clientId: string;
}

/** Verdicts the thread asks the gateway's hooks for. */
export type BrokerAsks = {
  authenticate: [
    ConnAsk & { remote: string; username?: string; password?: Uint8Array },
    boolean | { code: ConnackRefusal },
  ];
  authorizePublish: [ConnAsk & { topic: string; qos: 0 | 1 | 2; retain: boolean }, boolean];
  authorizeSubscribe: [ConnAsk & { topic: string; qos: 0 | 1 | 2 }, boolean];
};

export interface BrokerReady {
  port: number;
}

/** What the gateway knows of a connection of the broker thread. */
interface ThreadConn {
  clientId: string;
  /** Stands for the aedes client in the gateway's hooks: its id and remote address, as DeviceAuth reads them. */
  proxy: Client;
  online: boolean;
  /** A message of it was refused here: the thread was asked to close it. */
  closing: boolean;
}

const proxyOf = (clientId: string, remote: string) =>
  ({ id: clientId, conn: { remoteAddress: remote } }) as unknown as Client;

/** What the gateway's publish hook reads: the topic (the payload and flags are the thread's). */
const publishPacket = (topic: string, qos: 0 | 1 | 2 = 0, retain = false): PublishPacket => ({
  cmd: 'publish',
  topic,
  payload: Buffer.alloc(0),
  qos,
  retain,
  dup: false,
});

/**
 * The embedded broker on a worker thread of its own (broker-thread.ts), through the thread channel,
 * behind the same options and MqttIngress interface as EmbeddedBroker: the broker's socket reads,
 * MQTT parsing and acks use one core, the pipeline (decode, rules, writes) the other. The hooks run
 * on this thread, as they do with EmbeddedBroker: the thread asks for CONNECT and SUBSCRIBE verdicts
 * and for the first PUBLISH of a connection on a topic, and this side checks every message again
 * as it takes it (so a device retired while connected is cut off). Messages, connectivity and
 * oversize events arrive in one ordered stream.
 *
 * Differences from EmbeddedBroker: stats other than messages/unrouted are the thread's, sent each
 * second, and a QoS 1 message is acknowledged once it is in the thread's intake log (edge-stream.ts;
 * without one, once the thread has it: a crash loses the batches in flight, stop() loses nothing).
 * A thread that dies is logged, its clients reported offline, and a new one starts on the same port.
 */
export class ThreadedEmbeddedBroker implements MqttIngress {
  private boundPort = 0;
  private readonly channel: ThreadChannel<BrokerCalls, BrokerAsks, BrokerReady>;
  private readonly stream: EdgeStreamReader;
  /** The thread's connections by its number for them, remembered when first heard of. */
  private readonly conns = new Map<number, ThreadConn>();
  private readonly routes: RouteMemo;
  private threadStats: BrokerThreadStats = {
    broker: zeroBrokerStats(),
    connectedClients: 0,
    fairness: { deferred: 0, rounds: 0 },
    holds: 0,
  };
  private readonly counts = { messages: 0, unrouted: 0, callbackErrors: 0 };
  private readonly safe: (fn: () => void) => void;
  /** Reused for the per-message re-check (the hooks read its topic). */
  private readonly packet = publishPacket('');

  constructor(private readonly opts: ThreadedEmbeddedBrokerOptions) {
    this.safe = callbackGuard(this.counts, opts.logger);
    this.routes = new RouteMemo((topic) => opts.route(topic));
    const { authenticate, authorizePublish, authorizeSubscribe } = opts;
    this.channel = new ThreadChannel<BrokerCalls, BrokerAsks, BrokerReady>(
      {
        callerUrl: import.meta.url,
        module: 'broker-thread',
        name: 'mqtt broker thread',
        logger: opts.logger,
        restart: RESTART,
        stopTimeoutMs: STOP_TIMEOUT_MS,
      },
      (): BrokerThreadData => {
        this.stream.restart();
        return {
          listener: {
            host: opts.host,
            port: this.boundPort || opts.port,
            maxPayloadBytes: opts.maxPayloadBytes,
            tls: opts.tls,
            maxConnectionsPerIp: opts.maxConnectionsPerIp,
            readBudgetMs: opts.readBudgetMs,
            persistence: opts.persistence,
          },
          intake: opts.intake?.log,
          hooks: {
            authenticate: authenticate !== undefined,
            authorizePublish: authorizePublish !== undefined,
            authorizeSubscribe: authorizeSubscribe !== undefined,
          },
        };
      },
    );
    this.stream = new EdgeStreamReader(this.channel, opts.intake, (err) =>
      opts.logger.error({ err }, 'mqtt intake checkpoint could not be written'),
    );
    if (authenticate)
      this.channel.handle('authenticate', (a) =>
        authenticate(this.conn(a, a.remote).proxy, a.username, a.password && Buffer.from(a.password)),
      );
    if (authorizePublish)
      this.channel.handle('authorizePublish', (a) =>
        authorizePublish(this.conn(a).proxy, publishPacket(a.topic, a.qos, a.retain)),
      );
    if (authorizeSubscribe)
      this.channel.handle('authorizeSubscribe', (a) =>
        authorizeSubscribe(this.conn(a).proxy, { topic: a.topic, qos: a.qos }),
      );
    this.channel.onItem = (name, v) => this.onItem(name, v);
    this.channel.onExit = () => {
      // The thread died: every client it had is offline.
      for (const c of this.conns.values()) {
        if (c.online) this.safe(() => opts.onConnectivity?.(c.clientId, false, Date.now(), c.proxy));
      }
      this.conns.clear();
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
    return this.stream.unsettled;
  }

  get fairness(): Readonly<FairReadsStats> | undefined {
    return this.opts.readBudgetMs ? this.threadStats.fairness : undefined;
  }

  async start(): Promise<void> {
    if (this.channel.running) return;
    this.boundPort = (await this.channel.start()).port;
  }

  async stop(): Promise<void> {
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

  /** The connection `a.conn`, remembered now if it is new. */
  private conn(a: ConnAsk, remote = 'unknown'): ThreadConn {
    let c = this.conns.get(a.conn);
    if (!c) {
      c = { clientId: a.clientId, proxy: proxyOf(a.clientId, remote), online: false, closing: false };
      this.conns.set(a.conn, c);
    }
    return c;
  }

  private onItem(name: string, v: unknown): void {
    const o = this.opts;
    switch (name) {
      case 'msgs':
        this.stream.read(
          v,
          (topic, payload, conn, at) => this.take(topic, payload, conn, at),
          (err) => o.logger.error({ err }, 'mqtt ingress callback threw'),
        );
        return;
      case 'stats':
        this.threadStats = v as BrokerThreadStats;
        return;
      case 'client': {
        const e = v as BrokerEvents['client'];
        // Offline may come after the connection's 'gone': then it is not remembered again.
        const c = e.online ? this.conn(e) : this.conns.get(e.conn);
        if (c) c.online = e.online;
        const proxy = c?.proxy ?? proxyOf(e.clientId, 'unknown');
        this.safe(() => o.onConnectivity?.(e.clientId, e.online, e.at, proxy));
        return;
      }
      case 'gone':
        this.conns.delete(v as number);
        return;
      case 'oversize': {
        const e = v as BrokerEvents['oversize'];
        this.safe(() => o.onOversize?.(e.clientId, e.topic, e.size));
        return;
      }
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
        this.channel.event('close', conn);
        return;
      }
    }
    this.counts.messages++;
    this.safe(() => this.opts.onMessage(inboundMqtt(routed, topic, payload, at, clientId)));
  }
}
