import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Hj212Ingest, Hj212OverMqtt } from '../../adapters/hj212/ingest.js';
import { createDeviceAuth, type DeviceAuth } from '../../adapters/mqtt/device-auth.js';
import { ExternalBrokerClient } from '../../adapters/mqtt/external-client.js';
import type { FairReadsStats } from '../../adapters/mqtt/fair-reads.js';
import { ThreadedEmbeddedBroker } from '../../adapters/mqtt/threaded-broker.js';
import type { MqttIngress, PublishOptions } from '../../adapters/mqtt/types.js';
import type { GridgateConfig } from '../../config/schema.js';
import type { ModelIndex } from '../../processors/devices/index.js';
import type { RejectSink } from '../../processors/errors.js';
import { DeviceRateLimiter } from '../../processors/limits/device-rate-limiter.js';
import type { Pipeline } from '../../processors/pipeline.js';
import type { TopicRouter } from '../../processors/topics.js';
import type { InboundMessage } from '../../processors/types.js';
import type { RegistryParts } from './registry.js';

/**
 * What the gateway reads of an MQTT edge beyond MqttIngress, where the edge has it: the bound port
 * and the read fairness of the embedded broker, and whether its thread is up.
 */
export interface IngressStatus {
  readonly port?: number;
  readonly fairness?: Readonly<FairReadsStats>;
  /** Messages in the intake log whose readings are not yet durable. */
  readonly intakeUnsettled?: number;
  readonly running?: boolean;
}

export type GatewayIngress = MqttIngress & IngressStatus;

/** Per-device token bucket: a flooding device is throttled and flagged; the others flow at full speed. */
export function rateGate(cfg: Readonly<GridgateConfig>, rejects: RejectSink, logger: Logger) {
  const limiter = new DeviceRateLimiter({
    ratePerS: cfg.limits.deviceRatePerS,
    burst: cfg.limits.deviceBurst,
    onFlag: (id) => logger.warn({ device: id }, 'device exceeds its message rate; throttled'),
  });
  const detail = `over limits.deviceRatePerS ${cfg.limits.deviceRatePerS}/s (burst ${cfg.limits.deviceBurst})`;
  const admit = (msg: InboundMessage): boolean => {
    if (limiter.admit(msg.deviceId, msg.receivedAt)) return true;
    const { receivedAt: at, transport, deviceId, topic } = msg;
    rejects.reject({ reason: 'rate_limited', at, transport, deviceId, topic, detail });
    return false;
  };
  return { limiter, admit };
}

/**
 * Publishes as the gateway on the MQTT edge once it is up: the rule engine starts before the
 * ingress, so alerts raised before it wait for it; after close() they fail.
 */
export class GatewayPublisher {
  private ingress: MqttIngress | undefined;
  private closed = false;
  private markReady!: () => void;
  private readonly ready = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });

  open(ingress: MqttIngress): void {
    this.ingress = ingress;
    this.markReady();
  }

  /** Releases publishes waiting for an ingress that may never start. */
  close(): void {
    this.closed = true;
    this.markReady();
  }

  async publish(topic: string, payload: Buffer | string, opts?: PublishOptions): Promise<void> {
    await this.ready;
    if (this.closed || !this.ingress) throw new Error('gateway stopping; alert not published on MQTT');
    return this.ingress.publish(topic, payload, opts);
  }
}

/** What a client of an external broker subscribes to: the models' topics and the HJ 212 topic. */
export function subscriptionFilters(cfg: Readonly<GridgateConfig>, router: TopicRouter): string[] {
  const hj = cfg.hj212.mqttTopic;
  return [...router.subscriptionFilters(), ...(hj ? [hj.replace('{mn}', '+')] : [])];
}

/** What both device edges, MQTT and HJ 212 (hj212Ingest), hand messages, rejects and status to. */
export interface DeviceEdge {
  pipeline: Pipeline;
  rejects: RejectSink;
  /** The per-device rate limit (rateGate). */
  admit: (msg: InboundMessage) => boolean;
  /** False while the gateway stops: the broker dropping every client then is not each device going offline. */
  running: () => boolean;
  /** Resolves once the readings written so far are in the database or the spool. */
  settled: () => Promise<void>;
}

export interface IngressDeps extends DeviceEdge {
  config: Readonly<GridgateConfig>;
  /** The current router: the models folder may replace it while the gateway runs. */
  router: () => TopicRouter;
  hj212: Hj212Ingest;
  parts: RegistryParts;
  models: ModelIndex;
  logger: Logger;
}

/** The MQTT edge the config asks for: a client of an external broker, or the embedded broker with device auth. */
export function buildIngress(deps: IngressDeps): { ingress: GatewayIngress; deviceAuth?: DeviceAuth } {
  const { config: cfg, pipeline, logger } = deps;
  const pattern = cfg.hj212.mqttTopic;
  let ingress: GatewayIngress | undefined;
  const hj = pattern
    ? new Hj212OverMqtt(pattern, deps.hj212, (t, p) => ingress!.publish(t, p, { qos: 1 }), logger)
    : undefined;
  const hooks = {
    route: (topic: string) => deps.router().match(topic) ?? hj?.match(topic),
    onMessage: (msg: InboundMessage) => {
      // HJ 212 payloads count once per payload (keyed by the topic's MN, before any parsing)
      // and again per frame (keyed by the device), inside.
      if (!deps.admit(msg)) return;
      if (hj?.match(msg.topic)) hj.handle(msg);
      else pipeline.handle(msg);
    },
    onUnrouted: (topic: string) => pipeline.unroutable('mqtt', topic, Buffer.alloc(0)),
    logger: logger.child({ component: 'mqtt' }),
  };
  // Beside the spool, under its fsync policy: both hold readings the database does not have yet.
  const intake = {
    log: {
      dir: join(cfg.tsdb.spool.dir, 'intake'),
      fsync: cfg.tsdb.spool.fsync,
      fsyncIntervalMs: cfg.tsdb.spool.fsyncIntervalMs,
    },
    settled: deps.settled,
  };
  if (cfg.mqtt.url) {
    ingress = new ExternalBrokerClient({
      ...hooks,
      url: cfg.mqtt.url,
      topics: subscriptionFilters(cfg, deps.router()),
      clientId: cfg.mqtt.clientId,
      username: cfg.mqtt.username,
      password: cfg.mqtt.password,
      protocolVersion: cfg.mqtt.protocolVersion,
      intake,
    });
    return { ingress };
  }
  const deviceAuth = createDeviceAuth({
    // mqtt.auth as it is (its secretKeyFile is the credential store's).
    ...cfg.mqtt.auth,
    devices: deps.parts.registry,
    credentials: deps.parts.credentials,
    models: deps.models,
    maxTopicDepth: cfg.limits.maxTopicDepth,
    hj212Topic: pattern || undefined,
    unknown: deps.parts.unknownDevices,
    logger,
  });
  const maxPayload = cfg.ingest.maxPayloadBytes;
  ingress = new ThreadedEmbeddedBroker({
    ...hooks,
    // The listener: mqtt.embedded as it is.
    ...cfg.mqtt.embedded,
    authenticate: deviceAuth.authenticate,
    authorizePublish: deviceAuth.authorizePublish,
    authorizeSubscribe: deviceAuth.authorizeSubscribe,
    maxConnectionsPerIp: cfg.limits.maxConnectionsPerIp,
    // Persistent clients' QoS 1 sessions and retained messages survive a restart.
    persistence: { redisUrl: cfg.redis.url, keyPrefix: `${cfg.redis.prefix}mqtt:` },
    intake,
    maxPayloadBytes: maxPayload,
    onConnectivity: (clientId, online, at) => {
      if (deps.running()) pipeline.connectivity(clientId, online, at);
    },
    onOversize: (clientId, topic, size) =>
      deps.rejects.reject({
        reason: 'payload_too_large',
        at: Date.now(),
        transport: 'mqtt',
        deviceId: clientId,
        topic,
        detail: `${size} bytes > ingest.maxPayloadBytes ${maxPayload}`,
      }),
  });
  return { ingress, deviceAuth };
}
