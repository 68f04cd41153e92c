import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import { AedesHooks } from './aedes-hooks.js';
import { type BrokerPersistence, openBrokerPersistence } from './broker-persistence.js';
import {
  type EmbeddedBrokerOptions,
  type EmbeddedBrokerStats,
  zeroBrokerStats,
} from './embedded-broker-options.js';
import { FairReads, type FairReadsStats } from './fair-reads.js';
import { FdBudget } from './fd-budget.js';
import { FrameMeter } from './frame-meter.js';
import { callbackGuard, inboundMqtt, type MqttIngress, type PublishOptions } from './types.js';

/** Pending connections the listener queues (see listen()). */
const LISTEN_BACKLOG = 4096;
/** Room in a packet beside its payload: the longest topic and MQTT 5 properties. */
const PACKET_OVERHEAD_BYTES = 65_536;

export type { EmbeddedBrokerOptions } from './embedded-broker-options.js';

/**
 * aedes in-process behind a net (or TLS) server. Device PUBLISHes (and wills) are handed to
 * `onMessage` once authorized, before aedes acknowledges them (AedesHooks' `accepted`): no second
 * hop over TCP, and a QoS 1 message can be made durable before its PUBACK. The gateway's own
 * publishes are delivered to subscribers but never to onMessage.
 */
export class EmbeddedBroker implements MqttIngress {
  private aedes: Aedes | undefined;
  private store: BrokerPersistence | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Open sockets per remote address; an address leaves with its last connection. */
  private readonly perAddress = new Map<string, number>();
  private readonly maxPacketBytes: number;
  private readonly fair: FairReads | undefined;
  private readonly fds: FdBudget;
  private boundPort = 0;
  readonly stats: EmbeddedBrokerStats = zeroBrokerStats();
  private readonly safe: (fn: () => void) => void;
  private readonly hooks: AedesHooks;

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.safe = callbackGuard(this.stats, opts.logger);
    this.hooks = new AedesHooks(opts, this.stats, this.safe, (client, packet) => this.ingest(packet, client));
    this.maxPacketBytes = opts.maxPayloadBytes + PACKET_OVERHEAD_BYTES;
    this.fair =
      opts.reads ?? (opts.readBudgetMs ? new FairReads({ budgetMs: opts.readBudgetMs }) : undefined);
    const onRefuse = () => this.stats.fdRefused++;
    this.fds = new FdBudget({ ...opts.fdBudget, logger: opts.logger, onRefuse });
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
    const store = this.opts.persistence
      ? await openBrokerPersistence(this.opts.persistence, this.opts.logger)
      : undefined;
    this.store = store;
    const aedes = await Aedes.createBroker({
      // Unset: aedes' in-memory persistence.
      ...(store && { persistence: store.persistence }),
      authenticate: (client, username, password, done) =>
        this.hooks.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.hooks.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.hooks.authorizeSubscribe(client, sub, done),
      authorizeForward: (_client, packet) =>
        packet.payload.length > this.opts.maxPayloadBytes ? null : packet,
    }).catch(async (err: unknown) => {
      // Redis failed while aedes read the stored sessions back.
      this.store = undefined;
      await store?.close();
      throw err;
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
      // A fleet reconnecting at once after a restart overflows Node's default accept queue, and a
      // dropped SYN waits out TCP's retry backoff. The kernel caps this at net.core.somaxconn.
      server.listen({ port: this.opts.port, host: this.opts.host, backlog: LISTEN_BACKLOG }, () => {
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
    const { server, aedes, store } = this;
    this.server = undefined;
    this.aedes = undefined;
    this.store = undefined;
    this.fds.stop();
    const closed = server && new Promise<void>((resolve) => server.close(() => resolve()));
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // Sockets that never completed CONNECT are not aedes clients; end them too.
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
    // After aedes: its clients' last writes (wills, queue updates) still need the connection.
    await store?.close();
    aedes?.removeAllListeners();
    // A persistence operation still in flight may yet fail; an 'error' without a listener would throw.
    (aedes as EventEmitter | undefined)?.on('error', (err: Error) =>
      this.opts.logger.debug({ err: err.message }, 'mqtt broker error after stop'),
    );
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

  /** Nothing to forget: every message is routed, and checked by authorizePublish, as it arrives. */
  forgetRoutes(_filters?: readonly string[]): Promise<void> {
    return Promise.resolve();
  }

  private accept(aedes: Aedes, socket: Socket): void {
    if (!this.fds.admit(this.sockets.size + 1) || !this.admitAddress(socket)) {
      socket.destroy();
      return;
    }
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

  /**
   * Counts the socket against its remote address (limits.maxConnectionsPerIp), checked on accept
   * before any byte is parsed; false when the address is at its limit.
   */
  private admitAddress(socket: Socket): boolean {
    const max = this.opts.maxConnectionsPerIp;
    if (max === undefined) return true;
    const ip = socket.remoteAddress ?? 'unknown';
    const open = this.perAddress.get(ip) ?? 0;
    if (open >= max) {
      const n = ++this.stats.connectionsRefused;
      // Once per power of two: a connection flood does not become a log flood.
      if ((n & (n - 1)) === 0)
        this.opts.logger.warn({ remote: ip, max, refused: n }, 'too many mqtt connections from one address');
      return false;
    }
    this.perAddress.set(ip, open + 1);
    socket.once('close', () => {
      const left = (this.perAddress.get(ip) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(ip);
      else this.perAddress.set(ip, left);
    });
    return true;
  }

  private listen(aedes: Aedes): void {
    aedes.on('client', (client: Client) => {
      this.opts.logger.debug({ clientId: client.id }, 'mqtt client connected');
      this.safe(() => this.opts.onConnectivity?.(client.id, true, Date.now(), client));
    });
    aedes.on('clientDisconnect', (client: Client) => {
      this.opts.logger.debug({ clientId: client.id }, 'mqtt client disconnected');
      this.safe(() => this.opts.onConnectivity?.(client.id, false, Date.now(), client));
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

  private ingest(packet: PublishPacket, client: Client): void {
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
        inboundMqtt(routed, packet.topic, payload, Date.now(), client.id),
        client,
        packet.qos,
      ),
    );
  }
}
