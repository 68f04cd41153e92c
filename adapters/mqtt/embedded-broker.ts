import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type PublishPacket,
  type Subscription,
} from 'aedes';
import type { InboundMessage } from '../../processors/types.js';
import { AddressLimit } from './address-limit.js';
import { FairReads, type FairReadsStats } from './fair-reads.js';
import { FdBudget } from './fd-budget.js';
import { FrameMeter } from './frame-meter.js';
import type { IngressHooks, MqttIngress, PublishOptions } from './types.js';

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 (aedes maps them to MQTT 5 reason codes itself). */
export type ConnackRefusal = 1 | 2 | 3 | 4 | 5;

export interface EmbeddedBrokerOptions extends IngressHooks {
  /** As IngressHooks.onMessage, with the aedes client that published. */
  onMessage(msg: InboundMessage, client?: Client): void;
  host: string;
  /** 0 picks a free port; read `port` after start(). */
  port: number;
  /** A PUBLISH with a bigger payload is acknowledged, dropped, and reported through onOversize. */
  maxPayloadBytes: number;
  /**
   * Hard cap on any MQTT packet, checked on the fixed header before the body is buffered; a client
   * that announces a bigger packet is disconnected (MQTT 5.0 §3.1.2.11.4: "Packet too large").
   * Default: maxPayloadBytes + 64 KiB (room for the longest topic and MQTT 5 properties).
   */
  maxPacketBytes?: number;
  tls?: { cert: string; key: string };
  /**
   * Open TCP connections allowed from one remote address (config limits.maxConnectionsPerIp); more
   * are closed on accept, before any byte is parsed, and counted in stats.connectionsRefused.
   * Default: no limit.
   */
  maxConnectionsPerIp?: number;
  /** Open-file limit and descriptors kept back from MQTT (FdBudget). Default: /proc/self/limits, 64. */
  fdBudget?: { limit?: number; reserve?: number; sampleMs?: number };
  /**
   * Work (ms) one event-loop turn may spend reading connections before the rest wait for the next
   * turn: connections with new bytes first, then backlogs round robin (FairReads). 0 or unset: each
   * connection is read to empty.
   */
  readBudgetMs?: number;
  /** Reads paced by this instance instead of one made from readBudgetMs (the broker thread holds it for back-pressure). */
  reads?: FairReads;
  /** Called when a client is registered (online) and when it goes away (offline). */
  onConnectivity?(clientId: string, online: boolean, at: number, client: Client): void;
  onOversize?(clientId: string | undefined, topic: string, size: number): void;
  /** Default: allow. `{ code }` refuses the CONNECT with that return code. */
  authenticate?(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<boolean | { code: ConnackRefusal }>;
  /** Default: allow (except $SYS/, reserved). false closes the connection (MQTT-3.3.5-2: no error is returned). */
  /** May answer synchronously (the hot path: one call per message) or with a promise. */
  authorizePublish?(client: Client, packet: PublishPacket): boolean | Promise<boolean>;
  /** Default: allow. false answers the subscription with failure 0x80. */
  authorizeSubscribe?(client: Client, sub: Subscription): Promise<boolean>;
}

export interface EmbeddedBrokerStats {
  messages: number;
  unrouted: number;
  oversize: number;
  packetTooLarge: number;
  clientErrors: number;
  connectionErrors: number;
  callbackErrors: number;
  /** Connections closed on accept because their address already had maxConnectionsPerIp open. */
  connectionsRefused: number;
  /** Connections closed on accept because the process was near its open-file limit (or at it: EMFILE). */
  fdRefused: number;
}

/** Every counter at zero. */
export function zeroBrokerStats(): EmbeddedBrokerStats {
  return {
    messages: 0,
    unrouted: 0,
    oversize: 0,
    packetTooLarge: 0,
    clientErrors: 0,
    connectionErrors: 0,
    callbackErrors: 0,
    connectionsRefused: 0,
    fdRefused: 0,
  };
}

const SYS_PREFIX = '$SYS/';

/**
 * aedes in-process behind a net (or TLS) server. Device PUBLISHes are handed to `onMessage` straight
 * from the broker's publish event: no second hop over TCP. The gateway's own publishes (client null)
 * are delivered to subscribers but never to onMessage.
 */
export class EmbeddedBroker implements MqttIngress {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly now: () => number;
  private readonly maxPacketBytes: number;
  private readonly fair: FairReads | undefined;
  private readonly fds: FdBudget;
  private boundPort = 0;
  readonly stats: EmbeddedBrokerStats = zeroBrokerStats();
  private readonly perAddress: AddressLimit | undefined;

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.now = opts.now ?? Date.now;
    this.maxPacketBytes = opts.maxPacketBytes ?? opts.maxPayloadBytes + 65_536;
    this.fair =
      opts.reads ?? (opts.readBudgetMs ? new FairReads({ budgetMs: opts.readBudgetMs }) : undefined);
    const onRefuse = () => this.stats.fdRefused++;
    this.fds = new FdBudget({ ...opts.fdBudget, logger: opts.logger, now: this.now, onRefuse });
    this.perAddress =
      opts.maxConnectionsPerIp === undefined
        ? undefined
        : new AddressLimit({
            max: opts.maxConnectionsPerIp,
            logger: opts.logger,
            onRefuse: () => ++this.stats.connectionsRefused,
          });
  }

  /** Reads deferred to a later turn, and rounds served, by the fair-read budget (undefined when off). */
  get fairness(): Readonly<FairReadsStats> | undefined {
    return this.fair?.stats;
  }

  /** The bound port (meaningful after start()). */
  get port(): number {
    return this.boundPort;
  }

  /** Connected MQTT clients. */
  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
      authorizeForward: (_client, packet) =>
        packet.payload.length > this.opts.maxPayloadBytes ? null : packet,
    });
    this.aedes = aedes;
    this.listen(aedes);

    const onConnection = (socket: Socket) => this.accept(aedes, socket);
    const server = this.opts.tls
      ? createTlsServer(
          { cert: readFileSync(this.opts.tls.cert), key: readFileSync(this.opts.tls.key) },
          onConnection,
        )
      : createNetServer(onConnection);
    server.on('tlsClientError', (err: Error) => {
      this.stats.connectionErrors++;
      this.opts.logger.debug({ err: err.message }, 'mqtt tls handshake failed');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err: NodeJS.ErrnoException) => {
      // accept() out of descriptors: the connection is already dropped and the listener goes on.
      if (err.code === 'EMFILE' || err.code === 'ENFILE') this.fds.exhausted(this.sockets.size);
      else this.opts.logger.error({ err }, 'mqtt listener error');
    });
    await this.fds.start(() => this.sockets.size);
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    this.server = server;
    this.opts.logger.info(
      { host: this.opts.host, port: this.boundPort, tls: Boolean(this.opts.tls) },
      'embedded mqtt broker listening',
    );
  }

  async stop(): Promise<void> {
    const { server, aedes } = this;
    this.server = undefined;
    this.aedes = undefined;
    this.fds.stop();
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
      // Sockets that never completed CONNECT are not aedes clients; end them too.
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      await closed;
    } else if (aedes) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    }
    aedes?.removeAllListeners();
  }

  publish(topic: string, payload: Buffer | string, opts: PublishOptions = {}): Promise<void> {
    const aedes = this.aedes;
    if (!aedes)
      return Promise.reject(new Error(`embedded broker is not running; cannot publish to ${topic}`));
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: opts.qos ?? 0,
      retain: opts.retain ?? false,
      dup: false,
    };
    return new Promise((resolve, reject) => aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  private accept(aedes: Aedes, socket: Socket): void {
    if (!this.fds.admit(this.sockets.size + 1)) {
      socket.destroy();
      return;
    }
    if (this.perAddress && !this.perAddress.admit(socket)) return;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.fair?.attach(socket);
    aedes.handle(socket);
    // Attached after aedes' 'readable' listener, so 'data' fires only as aedes reads (no flowing
    // mode) and each chunk is seen here before the parser gets it.
    const meter = new FrameMeter(this.maxPacketBytes);
    const onData = (chunk: Buffer) => {
      const big = meter.feed(chunk);
      if (!big) return;
      socket.off('data', onData);
      const clientId = (socket as Socket & { client?: { id?: string } }).client?.id;
      this.stats.packetTooLarge++;
      this.opts.logger.warn(
        { clientId, topic: big.topic, size: big.length, max: this.maxPacketBytes, packetType: big.type },
        'mqtt packet too large; closing connection',
      );
      this.safe(() => this.opts.onOversize?.(clientId, big.topic, big.length));
      socket.destroy();
    };
    socket.on('data', onData);
  }

  private listen(aedes: Aedes): void {
    aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      // client null: the gateway's own publish, $SYS traffic, or a stale will from persistence.
      if (client === null || packet.topic.startsWith(SYS_PREFIX)) return;
      this.ingest(packet, client);
    });
    aedes.on('client', (client: Client) => {
      this.opts.logger.debug({ clientId: client.id }, 'mqtt client connected');
      this.safe(() => this.opts.onConnectivity?.(client.id, true, this.now(), client));
    });
    aedes.on('clientDisconnect', (client: Client) => {
      this.opts.logger.debug({ clientId: client.id }, 'mqtt client disconnected');
      this.safe(() => this.opts.onConnectivity?.(client.id, false, this.now(), client));
    });
    aedes.on('clientError', (client: Client, err: Error) => {
      this.stats.clientErrors++;
      this.opts.logger.debug({ clientId: client.id, err: err.message }, 'mqtt client error');
    });
    aedes.on('connectionError', (_client: Client, err: Error) => {
      this.stats.connectionErrors++;
      this.opts.logger.debug({ err: err.message }, 'mqtt connection error before CONNECT completed');
    });
    aedes.on('keepaliveTimeout', (client: Client) => {
      this.opts.logger.debug({ clientId: client.id }, 'mqtt keepalive timeout');
    });
    // An 'error' without a listener would throw; aedes emits it for persistence failures.
    // (typed overloads of aedes omit 'error', hence the EventEmitter view).
    (aedes as EventEmitter).on('error', (err: Error) => this.opts.logger.error({ err }, 'mqtt broker error'));
  }

  private ingest(packet: AedesPublishPacket, client: Client): void {
    const size = packet.payload.length;
    // Already reported in authorizePublish; acknowledged but not processed.
    if (size > this.opts.maxPayloadBytes) return;
    const routed = this.opts.route(packet.topic);
    if (!routed) {
      this.stats.unrouted++;
      this.safe(() => this.opts.onUnrouted?.(packet.topic, client.id, size));
      return;
    }
    this.stats.messages++;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    this.safe(() =>
      this.opts.onMessage(
        {
          transport: 'mqtt',
          kind: routed.kind,
          deviceId: routed.deviceId,
          topic: packet.topic,
          payload,
          receivedAt: this.now(),
          clientId: client.id,
        },
        client,
      ),
    );
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const hook = this.opts.authenticate;
    if (!hook) {
      done(null, true);
      return;
    }
    hook(client, username, password).then(
      (res) => {
        if (res === true) return done(null, true);
        const code = res === false ? 4 : res.code;
        done(Object.assign(new Error('connection refused'), { returnCode: code }) as AuthenticateError, null);
      },
      (err: unknown) => {
        this.opts.logger.error({ err, clientId: client.id }, 'mqtt authenticate hook failed');
        // 3 = server unavailable: the refusal is ours, not the client's.
        done(
          Object.assign(new Error('authentication unavailable'), { returnCode: 3 }) as AuthenticateError,
          null,
        );
      },
    );
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    if (packet.topic.startsWith(SYS_PREFIX)) {
      done(new Error(`${SYS_PREFIX} topic is reserved`));
      return;
    }
    const hook = this.opts.authorizePublish;
    const sizeCheck = () => {
      const size = packet.payload.length;
      if (size > this.opts.maxPayloadBytes && client) {
        this.stats.oversize++;
        this.opts.logger.warn(
          { clientId: client.id, topic: packet.topic, size, max: this.opts.maxPayloadBytes },
          'mqtt payload too large; dropped',
        );
        this.safe(() => this.opts.onOversize?.(client.id, packet.topic, size));
        // Acknowledged so the client goes on, but never retained (authorizeForward keeps it from subscribers).
        packet.retain = false;
      }
      done(null);
    };
    if (!hook || !client) {
      sizeCheck();
      return;
    }
    const verdict = (ok: boolean) =>
      ok ? sizeCheck() : done(new Error(`publish to ${packet.topic} not authorized`));
    const failed = (err: unknown) => done(err instanceof Error ? err : new Error(String(err)));
    let answer: boolean | Promise<boolean>;
    try {
      answer = hook(client, packet);
    } catch (err) {
      failed(err);
      return;
    }
    if (typeof answer === 'boolean') verdict(answer);
    else answer.then(verdict, failed);
  }

  private authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const hook = this.opts.authorizeSubscribe;
    if (!hook) {
      done(null, sub);
      return;
    }
    hook(client, sub).then(
      (ok) => done(null, ok ? sub : null),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.stats.callbackErrors++;
      this.opts.logger.error({ err }, 'mqtt ingress callback threw');
    }
  }
}
