import { hostname } from 'node:os';
import { redactUrl } from '../../config/redact.js';
import type { IntakeWiring } from './intake-checkpoint.js';
import { OwnEchoFilter } from './own-echo.js';
import { type IoThreadData, ThreadedMqttConnection } from './threaded-connection.js';
import {
  callbackGuard,
  type IngressHooks,
  inboundMqtt,
  type MqttIngress,
  type PublishOptions,
  RouteMemo,
} from './types.js';

/** `mqtt://user:pass@host` -> `mqtt://user:***@host`: credentials never reach a log line. */

export interface ExternalBrokerClientOptions extends IngressHooks {
  /** mqtt://, mqtts://, ws:// ... */
  url: string;
  /** Topic filters subscribed at QoS 1, e.g. ['devices/+/telemetry', 'devices/+/event', 'devices/+/status']. */
  topics: readonly string[];
  /** Stable across restarts so the broker keeps the session; default `gridgate-<hostname>`. */
  clientId?: string;
  username?: string;
  password?: string;
  /** 4 (default, MQTT 3.1.1: no No Local, so the client drops the echoes of its own publishes itself) or 5. */
  protocolVersion?: 4 | 5;
  /** start() rejects when no CONNACK arrives within this; default 10 s. */
  connectTimeoutMs?: number;
  /** Reconnect backoff: first delay and ceiling; default 500 ms and 30 s, doubled per failed attempt. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** QoS 1 messages are logged to disk before they are acknowledged (threaded-connection.ts). */
  intake?: IntakeWiring;
}

const KEEPALIVE_S = 30;
const CONNECT_TIMEOUT_MS = 10_000;
/** MQTT 5 Session Expiry Interval (MQTT 5.0 §3.1.2.11.2): a week of the gateway being down. */
const SESSION_EXPIRY_S = 7 * 24 * 3600;

/**
 * The gateway as a client of an external broker: QoS 1, persistent session (clean: false), so
 * readings published while the gateway is down are queued by the broker and arrive on reconnect.
 * The gateway's own publishes are never fed back into onMessage: with MQTT 5 the subscriptions
 * carry No Local (MQTT 5.0 §3.8.3.1); with MQTT 3.1.1, which has none, OwnEchoFilter recognises
 * the copies. With 3.1.1 the session lasts as long as the broker keeps it (mosquitto: forever
 * unless `persistent_client_expiration` is set); with 5 it expires after SESSION_EXPIRY_S.
 */
export class ExternalBrokerClient implements MqttIngress {
  private client: ThreadedMqttConnection | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private lastError: Error | undefined;
  /** A SUBSCRIBE of ours the broker has not confirmed (the connection dropped first, or it refused). */
  private subscribePending = false;
  /** Numbers SUBSCRIBEs: only the latest one's SUBACK says every filter is in place (the broker answers in order). */
  private subscribeSeq = 0;
  /** The filters subscribed to: opts.topics, then the list forgetRoutes was last given. */
  private topics: readonly string[];
  /** Filters forgetRoutes dropped that the broker has not yet confirmed unsubscribing (the session keeps them). */
  private readonly stale = new Set<string>();
  /** Set while start() waits: called once connected and subscribed, with the error if the broker refused. */
  private onUp: ((refused?: Error) => void) | undefined;
  readonly clientId: string;
  private readonly safe: (fn: () => void) => void;
  readonly stats = {
    messages: 0,
    unrouted: 0,
    connects: 0,
    resubscribes: 0,
    errors: 0,
    callbackErrors: 0,
    /** MQTT 3.1.1: copies of the gateway's own publishes that came back through its subscriptions, dropped. */
    ownEchoes: 0,
  };
  /**
   * What `route` answered per device topic. Devices send on the same few topics, and with the
   * client thread each topic arrives as the same string, hashed once.
   */
  private readonly routes: RouteMemo;
  /** MQTT 3.1.1 only: what this client published on topics its own subscriptions cover. */
  private echoes: OwnEchoFilter | undefined;
  /** The broker URL with any password masked, for logs and error messages. */
  private readonly safeUrl: string;

  constructor(private readonly opts: ExternalBrokerClientOptions) {
    this.safe = callbackGuard(this.stats, opts.logger);
    this.routes = new RouteMemo((topic) => opts.route(topic));
    this.safeUrl = redactUrl(opts.url);
    this.clientId = opts.clientId ?? `gridgate-${hostname()}`;
    this.topics = [...opts.topics];
    if (opts.protocolVersion !== 5) this.echoes = new OwnEchoFilter(opts.topics);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Messages in the intake log whose readings are not yet in the database or the spool. */
  get intakeUnsettled(): number {
    return this.client?.unsettled ?? 0;
  }

  async start(): Promise<void> {
    if (this.client) return;
    this.attempts = 0;
    this.lastError = undefined;
    const version = this.opts.protocolVersion ?? 4;
    const options: IoThreadData['options'] = {
      clientId: this.clientId,
      clean: false,
      protocolVersion: version,
      username: this.opts.username,
      password: this.opts.password,
      keepalive: KEEPALIVE_S,
      connectTimeout: this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      // Reconnects are scheduled here with backoff; mqtt.js would retry at a fixed period.
      reconnectPeriod: 0,
      // We subscribe ourselves when the broker has no session for us (sessionPresent false).
      resubscribe: false,
      ...(version === 5 ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } } : {}),
    };
    const log = this.opts.logger;
    const client: ThreadedMqttConnection = new ThreadedMqttConnection(
      this.opts.url,
      options,
      log,
      this.opts.intake,
      {
        connect: (connack) => this.onConnect(client, connack.sessionPresent),
        message: (topic, payload) => this.ingest(topic, payload),
        error: (err) => {
          this.stats.errors++;
          this.lastError = err;
          log.warn({ url: this.safeUrl, err: err.message }, 'mqtt client error');
        },
        close: () => {
          // A connection stop() ended (or one replaced since) is not reconnected.
          if (this.client !== client) return;
          log.warn({ url: this.safeUrl }, 'mqtt connection closed; will reconnect');
          this.scheduleReconnect(client);
        },
      },
    );
    this.client = client;
    await this.waitConnected();
  }

  async stop(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // A clean DISCONNECT keeps the session (clean: false) but drops the will [MQTT-3.14.4-3].
    await client.end(!client.connected);
  }

  async publish(topic: string, payload: Buffer | string, opts: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client)
      throw new Error(`mqtt client for ${this.safeUrl} is not started; cannot publish to ${topic}`);
    this.echoes?.published(topic, payload);
    await client.publish(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
  }

  /**
   * The device models' topics changed: routes remembered per topic are forgotten, and with
   * `filters` (the full new list) the filters that are new are subscribed to and those no longer in
   * it unsubscribed from, each change alone (SUBSCRIBE to a filter already held re-sends its
   * retained messages [MQTT-3.8.4-3]). Not connected, the next connect does it: it subscribes to
   * every filter, and a session the broker kept is cleared of the dropped ones.
   */
  async forgetRoutes(filters?: readonly string[]): Promise<void> {
    this.routes.clear();
    if (!filters) return;
    const next = [...new Set(filters)];
    const added = next.filter((f) => !this.topics.includes(f));
    const removed = this.topics.filter((f) => !next.includes(f));
    if (added.length === 0 && removed.length === 0) return;
    this.topics = next;
    for (const f of removed) this.stale.add(f);
    for (const f of added) this.stale.delete(f);
    // Publishes of ours remembered under the old filters are dropped with it: at worst an echo
    // arriving just after counts as one unrouted message (the gateway publishes on no device topic).
    if (this.opts.protocolVersion !== 5) this.echoes = new OwnEchoFilter(next);
    this.opts.logger.info(
      { url: this.safeUrl, subscribe: added, unsubscribe: removed },
      'mqtt subscriptions follow the device models',
    );
    if (added.length > 0) this.subscribePending = true;
    const client = this.client;
    if (!client?.connected) return;
    const [err] = await Promise.all([
      added.length > 0 ? this.subscribe(client, added) : undefined,
      this.unsubscribeStale(client),
    ]);
    if (err && refused(err)) {
      throw new Error(
        `MQTT broker ${this.safeUrl} refused the subscription to ${added.join(', ')} for ${this.clientId}: ${err.message}. Devices on those topics are not received; check the broker's ACL for this client.`,
        { cause: err },
      );
    }
  }

  private waitConnected(): Promise<void> {
    const timeoutMs = this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const fail = (message: string, cause?: Error) =>
        void this.stop().finally(() => reject(new Error(message, { cause })));
      const timer = setTimeout(() => {
        this.onUp = undefined;
        const cause = this.lastError;
        const reason = cause ? `: ${cause.message}` : '';
        fail(
          `could not connect to MQTT broker ${this.safeUrl} as ${this.clientId} within ${timeoutMs} ms${reason}. Check mqtt.url, credentials and that the broker is reachable.`,
          cause,
        );
      }, timeoutMs);
      this.onUp = (refused) => {
        clearTimeout(timer);
        this.onUp = undefined;
        if (!refused) resolve();
        else
          fail(
            `MQTT broker ${this.safeUrl} refused the subscription to ${this.topics.join(', ')} for ${this.clientId}: ${refused.message}. Check the broker's ACL for this client.`,
            refused,
          );
      };
    });
  }

  private onConnect(client: ThreadedMqttConnection, sessionPresent: boolean): void {
    this.attempts = 0;
    this.stats.connects++;
    this.opts.logger.info({ url: this.safeUrl, clientId: this.clientId, sessionPresent }, 'mqtt connected');
    // A broker that lost (or never had) our session has no subscriptions for us [MQTT-3.2.2-2].
    // Nor may one whose SUBSCRIBE was cut off by a dropped connection: the session it created
    // at CONNECT is present, the subscriptions perhaps not. start() resolves once they are in
    // place (SUBACK), so nothing sent after it is missed; a refusal fails it; a drop before the
    // SUBACK waits for the reconnect, which subscribes again.
    // Filters dropped while disconnected: a new session never had them, a kept one loses them.
    if (!sessionPresent) this.stale.clear();
    else void this.unsubscribeStale(client);
    if (sessionPresent && !this.subscribePending) this.onUp?.();
    else {
      void this.subscribe(client).then((err) => {
        if (err === undefined || refused(err)) this.onUp?.(err);
      });
    }
  }

  /**
   * Every filter (at connect) or the new ones (forgetRoutes). Resolves once the broker answered:
   * with the error when it refused (or the connection dropped first).
   */
  private async subscribe(client: ThreadedMqttConnection, topics = this.topics): Promise<Error | undefined> {
    this.stats.resubscribes++;
    this.subscribePending = true;
    const seq = ++this.subscribeSeq;
    const nl = this.opts.protocolVersion === 5;
    const filters = Object.fromEntries(topics.map((t) => [t, { qos: 1 as const, nl }]));
    const err = await client.subscribe(filters).then(
      () => undefined,
      (e: Error) => e,
    );
    // A SUBACK code of 0x80 or above (MQTT 3.1.1 §3.9.3, MQTT 5.0 §3.9.3) comes back as err.code.
    if (!err) {
      if (seq === this.subscribeSeq) this.subscribePending = false;
    } else if (refused(err)) this.opts.logger.error({ err, topics }, 'mqtt broker refused the subscription');
    else
      this.opts.logger.warn({ err: err.message }, 'mqtt subscribe cut off; subscribing again on reconnect');
    return err;
  }

  /** Filters dropped by forgetRoutes leave the session; a failure leaves them for the next connect. */
  private async unsubscribeStale(client: ThreadedMqttConnection): Promise<void> {
    const filters = [...this.stale];
    if (filters.length === 0) return;
    try {
      await client.unsubscribe(filters);
      for (const f of filters) if (!this.topics.includes(f)) this.stale.delete(f);
    } catch (err) {
      this.opts.logger.warn(
        { err: (err as Error).message, topics: filters },
        'mqtt unsubscribe failed; trying again on reconnect',
      );
    }
  }

  private scheduleReconnect(client: ThreadedMqttConnection): void {
    if (this.reconnectTimer) return;
    const min = this.opts.reconnectMinMs ?? 500;
    const max = this.opts.reconnectMaxMs ?? 30_000;
    const base = Math.min(max, min * 2 ** this.attempts);
    // Jitter so a fleet of gateways does not reconnect in lockstep after a broker restart.
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.client !== client) return;
      client.reconnect();
    }, delay);
  }

  private ingest(topic: string, payload: Buffer): void {
    if (this.echoes?.isEcho(topic, payload)) {
      this.stats.ownEchoes++;
      return;
    }
    const routed = this.routes.get(topic);
    if (!routed) {
      this.stats.unrouted++;
      this.safe(() => this.opts.onUnrouted?.(topic, undefined, payload.length));
      return;
    }
    this.stats.messages++;
    this.safe(() => this.opts.onMessage(inboundMqtt(routed, topic, payload, Date.now())));
  }
}

/** A SUBACK failure code (0x80 and up) as mqtt.js reports it; other errors (a closed connection) have none. */
function refused(err: Error): boolean {
  return typeof (err as { code?: unknown }).code === 'number';
}
