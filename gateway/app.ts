import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Hj212Server } from '../adapters/hj212/tcp-server.js';
import { createDeviceAuth } from '../adapters/mqtt/device-auth.js';
import { EmbeddedBroker } from '../adapters/mqtt/embedded-broker.js';
import { ExternalBrokerClient, redactUrl } from '../adapters/mqtt/external-client.js';
import { ThreadedEmbeddedBroker } from '../adapters/mqtt/threaded-broker.js';
import type { MqttIngress } from '../adapters/mqtt/types.js';
import { CredentialStore } from '../adapters/registry/credentials.js';
import { RedisRegistry } from '../adapters/registry/redis-registry.js';
import { loadSecretKey } from '../adapters/registry/secret-key.js';
import { UnknownDevices } from '../adapters/registry/unknown-devices.js';
import { InfluxWriter, type TsdbWriter } from '../adapters/tsdb/influx-writer.js';
import { ThreadedInfluxWriter } from '../adapters/tsdb/threaded-writer.js';
import type { GridgateConfig } from '../config/schema.js';
import { DeadLetterStore } from '../processors/deadletters.js';
import { ModelIndex } from '../processors/devices/index.js';
import { GridgateError } from '../processors/errors.js';
import { LatestReadings } from '../processors/latest.js';
import { DeviceRateLimiter } from '../processors/limits/device-rate-limiter.js';
import { Pipeline } from '../processors/pipeline.js';
import { CaptureFormatter } from '../processors/rules/capture-format.js';
import { TopicRouter } from '../processors/topics.js';
import type { InboundMessage, ReadingSink } from '../processors/types.js';
import { Alerting } from './alerting.js';
import { CameraEdge } from './cameras.js';
import { CaptureSink } from './capture.js';
import { importDeviceFile } from './device-import.js';
import { Hj212OverMqtt, hj212Ingest } from './hj212-ingest.js';
import { authPlugin } from './http/auth.js';
import { alertingRoutes } from './http/routes/alerting.js';
import { deadletterRoutes } from './http/routes/deadletters.js';
import { devicesPlugin } from './http/routes/devices.js';
import { healthRoutes } from './http/routes/health.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { modelRoutes } from './http/routes/models.js';
import { statsRoutes } from './http/routes/stats.js';
import { buildHttpServer } from './http/server.js';
import { gatewayMetrics } from './metrics.js';
import { ModelFiles } from './models.js';

export interface GatewayOptions {
  config: Readonly<GridgateConfig>;
  logger: Logger;
  /** How long stop() waits for one component (the time-series writer: 35 s, past its own 30 s flush). Default 10 s. */
  stopStepMs?: number;
}

const STOP_STEP_MS = 10_000;
const WRITER_STOP_MS = 35_000;

interface Stopper {
  name: string;
  stop: () => Promise<void>;
  boundMs?: number;
}

/**
 * The one place that knows every component: builds them from the validated config, starts them
 * in dependency order (sinks before ingress), and stops them in reverse (ingress first, then
 * flush). Nothing here is on the hot path.
 */
export class Gateway {
  readonly config: Readonly<GridgateConfig>;
  readonly logger: Logger;
  readonly models = new ModelIndex();
  /** Replaced, with `models`, when the models folder changes (gateway/models.ts). */
  router: TopicRouter;
  readonly modelFiles: ModelFiles;
  readonly deadLetters: DeadLetterStore;
  readonly latest = new LatestReadings();
  redis!: Redis;
  registry!: RedisRegistry;
  credentials!: CredentialStore;
  unknownDevices!: UnknownDevices;
  writer!: TsdbWriter;
  pipeline!: Pipeline;
  ingress!: MqttIngress;
  hj212?: Hj212Server;
  alerting!: Alerting;
  rateLimiter!: DeviceRateLimiter;
  deviceAuth?: ReturnType<typeof createDeviceAuth>;
  http!: FastifyInstance;
  cameras!: CameraEdge;
  private capture?: CaptureSink;
  private readonly stoppers: Stopper[] = [];
  private readonly stopStepMs: number;
  /** Set by stop(): the broker dropping every client then is not each device going offline. */
  private stopping = false;
  /** Resolves once the MQTT edge accepts traffic; alert publishes raised before that wait for it. */
  private readonly ingressReady: Promise<void>;
  private markIngressReady!: () => void;
  /** The MQTT edge has started (and not stopped): /healthz is not ok before, so a client waiting for it can connect. */
  private ingressStarted = false;

  constructor(opts: GatewayOptions) {
    this.ingressReady = new Promise((resolve) => {
      this.markIngressReady = resolve;
    });
    this.config = opts.config;
    this.logger = opts.logger;
    this.stopStepMs = opts.stopStepMs ?? STOP_STEP_MS;
    this.router = new TopicRouter(this.models.all());
    this.modelFiles = new ModelFiles({
      dir: opts.config.models.dir,
      watch: opts.config.models.watch,
      index: this.models,
      setRouter: (r) => {
        this.router = r;
      },
      routesCached: opts.config.mqtt.url !== undefined || opts.config.mqtt.embedded.thread,
      logger: opts.logger.child({ component: 'models' }),
    });
    this.deadLetters = new DeadLetterStore({
      capacity: opts.config.ingest.deadLetterCapacity,
      logIntervalMs: opts.config.ingest.logIntervalS * 1000,
      logger: opts.logger.child({ component: 'ingest' }),
    });
  }

  /** MQTT port actually bound (embedded mode), HTTP port, HJ 212 port. */
  get ports(): { mqtt?: number; http?: number; hj212?: number } {
    const addr = this.http?.server.address();
    return {
      mqtt:
        this.ingress instanceof EmbeddedBroker || this.ingress instanceof ThreadedEmbeddedBroker
          ? this.ingress.port
          : undefined,
      http: typeof addr === 'object' && addr ? addr.port : undefined,
      hj212: this.hj212?.port,
    };
  }

  async start(): Promise<void> {
    const { config: cfg, logger } = this;
    try {
      // Before anything reads a model: the registry checks device models against the full set.
      await this.modelFiles.start();
      this.onStop('models watcher', () => this.modelFiles.stop());
      await this.startRegistry();
      const { thread, ...tsdb } = cfg.tsdb;
      const writerOptions = { ...tsdb, logger };
      if (thread) {
        const threaded = new ThreadedInfluxWriter(writerOptions);
        this.writer = threaded;
        this.onStop('tsdb writer', () => threaded.stop(), WRITER_STOP_MS);
        await threaded.ready;
      } else {
        this.writer = new InfluxWriter(writerOptions);
        this.onStop('tsdb writer', () => this.writer.stop(), WRITER_STOP_MS);
      }
      this.cameras = await CameraEdge.open({
        config: cfg,
        registry: this.registry,
        redis: this.redis,
        handle: (msg) => this.pipeline.handle(msg),
        logger: logger.child({ component: 'cameras' }),
      });
      this.onStop('snapshot store', () => this.cameras.snapshots.stop());
      this.alerting = await Alerting.create({
        config: cfg,
        redis: this.redis,
        devices: this.registry,
        snapshots: this.cameras.evidence(),
        // The ingress starts after the engine; alerts raised before it is up wait for it.
        publish: async (topic, payload, opts) => {
          await this.ingressReady;
          if (this.stopping) throw new Error('gateway stopping; alert not published on MQTT');
          return this.ingress.publish(topic, payload, opts);
        },
        logger: logger.child({ component: 'alerting' }),
      });
      await this.alerting.start();
      this.onStop('alerting', () => this.alerting.stop());
      const sinks: ReadingSink[] = [this.writer, this.latest, this.alerting.engine];
      if (cfg.ingest.capture) {
        const format = new CaptureFormatter();
        this.capture = new CaptureSink(cfg.ingest.capture, (r, d) => format.line(r, d).trimEnd());
        this.onStop('capture', () => this.capture!.stop());
        sinks.push(this.capture);
      }
      this.pipeline = new Pipeline({
        devices: this.registry,
        models: this.models,
        sinks,
        rejects: this.deadLetters,
        limits: {
          maxPayloadBytes: cfg.ingest.maxPayloadBytes,
          maxDepth: cfg.ingest.maxDepth,
          maxFutureSkewMs: cfg.ingest.maxFutureSkewS * 1000,
          maxAgeMs: cfg.ingest.maxAgeS * 1000,
        },
        logger: logger.child({ component: 'pipeline' }),
      });
      await this.startHttp();
      await this.startIngress();
      if (cfg.hj212.enabled) await this.startHj212();
      // Last in, first out: camera supervision stops before the writer flushes.
      await this.cameras.start();
      this.onStop('camera supervision', () => this.cameras.stop());
      logger.info(
        { ports: this.ports, devices: this.registry.size, models: this.models.all().length },
        'gridgate started',
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async startRegistry(): Promise<void> {
    const { config: cfg, logger } = this;
    this.redis = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
    let lastError = '';
    this.redis.on('error', (err) => {
      lastError = err.message;
      logger.warn({ err: err.message }, 'redis connection error');
    });
    this.onStop('redis', async () => {
      await this.redis.quit().catch(() => this.redis.disconnect());
    });
    try {
      await this.redis.connect();
    } catch (err) {
      throw new GridgateError(
        'GG_ERR_REDIS_CONNECT',
        `cannot connect to Redis at ${redactUrl(cfg.redis.url)}`,
        [lastError || (err as Error).message, 'start Redis or set redis.url (GRIDGATE_REDIS__URL)'],
      );
    }
    const prefix = cfg.redis.prefix;
    this.registry = new RedisRegistry({
      redis: this.redis,
      prefix,
      knownModels: (id) => this.models.get(id)?.family,
      logger,
    });
    await this.registry.start();
    this.onStop('registry', () => this.registry.stop());
    const secretKey = await loadSecretKey({
      file: cfg.mqtt.auth.secretKeyFile,
      redis: this.redis,
      prefix,
      logger,
    });
    this.credentials = new CredentialStore({ redis: this.redis, prefix, secretKey, logger });
    this.unknownDevices = new UnknownDevices({ redis: this.redis, prefix });
    this.unknownDevices.start();
    this.onStop('unknown devices', () => this.unknownDevices.stop());
    if (cfg.devices.import) {
      const r = await importDeviceFile(this.registry, cfg.devices.import, 'config-import');
      logger.info({ file: cfg.devices.import, result: r }, 'device file imported');
    }
  }

  /** Per-device token bucket: a flooding device is throttled and flagged; the others flow at full speed. */
  private admit(msg: InboundMessage): boolean {
    if (this.rateLimiter.admit(msg.deviceId, msg.receivedAt)) return true;
    this.deadLetters.reject({
      reason: 'rate_limited',
      at: msg.receivedAt,
      transport: msg.transport,
      deviceId: msg.deviceId,
      topic: msg.topic,
      detail: `over limits.deviceRatePerS ${this.config.limits.deviceRatePerS}/s (burst ${this.config.limits.deviceBurst})`,
    });
    return false;
  }

  private async startIngress(): Promise<void> {
    const { config: cfg, logger, pipeline } = this;
    this.rateLimiter = new DeviceRateLimiter({
      ratePerS: cfg.limits.deviceRatePerS,
      burst: cfg.limits.deviceBurst,
      onFlag: (id) => logger.warn({ device: id }, 'device exceeds its message rate; throttled'),
    });
    const hj = cfg.hj212.mqttTopic
      ? new Hj212OverMqtt(cfg.hj212.mqttTopic, this.hj212Deps(), (t, p) =>
          this.ingress.publish(t, p, { qos: 1 }),
        )
      : undefined;
    const hooks = {
      route: (topic: string) => this.router.match(topic) ?? hj?.match(topic),
      onMessage: (msg: InboundMessage) => {
        // HJ 212 payloads count once per payload (keyed by the topic's MN, before any parsing)
        // and again per frame (keyed by the device), inside.
        if (hj?.match(msg.topic)) {
          if (this.admit(msg)) hj.handle(msg);
        } else if (this.admit(msg)) pipeline.handle(msg);
      },
      onUnrouted: (topic: string, _clientId: string | undefined, _size: number) =>
        pipeline.unroutable('mqtt', topic, Buffer.alloc(0)),
      logger: logger.child({ component: 'mqtt' }),
    };
    if (cfg.mqtt.url) {
      this.ingress = new ExternalBrokerClient({
        ...hooks,
        url: cfg.mqtt.url,
        topics: [
          ...this.router.subscriptionFilters(),
          ...(cfg.hj212.mqttTopic ? [cfg.hj212.mqttTopic.replace('{mn}', '+')] : []),
        ],
        clientId: cfg.mqtt.clientId,
        username: cfg.mqtt.username,
        password: cfg.mqtt.password,
        protocolVersion: cfg.mqtt.protocolVersion,
        thread: cfg.mqtt.thread,
      });
    } else {
      const tls = cfg.mqtt.embedded.tls;
      const auth = createDeviceAuth({
        devices: this.registry,
        credentials: this.credentials,
        models: this.models,
        users: cfg.mqtt.auth.users,
        required: cfg.mqtt.auth.required,
        maxFailures: cfg.mqtt.auth.maxFailures,
        maxFailuresPerAddress: cfg.mqtt.auth.maxFailuresPerAddress,
        lockoutS: cfg.mqtt.auth.lockoutS,
        checksPerS: cfg.mqtt.auth.checksPerS,
        slowChecksPerS: cfg.mqtt.auth.slowChecksPerS,
        maxTopicDepth: cfg.limits.maxTopicDepth,
        hj212Topic: cfg.hj212.mqttTopic || undefined,
        unknown: this.unknownDevices,
        logger,
      });
      this.deviceAuth = auth;
      const Broker = cfg.mqtt.embedded.thread ? ThreadedEmbeddedBroker : EmbeddedBroker;
      this.ingress = new Broker({
        ...hooks,
        authenticate: auth.authenticate,
        authorizePublish: auth.authorizePublish,
        authorizeSubscribe: auth.authorizeSubscribe,
        maxConnectionsPerIp: cfg.limits.maxConnectionsPerIp,
        readBudgetMs: cfg.mqtt.embedded.readBudgetMs ?? (cfg.mqtt.embedded.thread ? 0.5 : 4),
        host: cfg.mqtt.embedded.host,
        port: cfg.mqtt.embedded.port,
        maxPayloadBytes: cfg.ingest.maxPayloadBytes,
        tls,
        onConnectivity: (clientId, online, at) => {
          if (!this.stopping) pipeline.connectivity(clientId, online, at);
        },
        onOversize: (clientId, topic, size) =>
          this.deadLetters.reject({
            reason: 'payload_too_large',
            at: Date.now(),
            transport: 'mqtt',
            deviceId: clientId,
            topic,
            detail: `${size} bytes > ingest.maxPayloadBytes ${cfg.ingest.maxPayloadBytes}`,
          }),
      });
    }
    this.onStop('mqtt ingress', () => this.ingress.stop());
    await this.ingress.start();
    this.ingressStarted = true;
    this.markIngressReady();
  }

  private hj212Deps() {
    return hj212Ingest({
      registry: this.registry,
      pipeline: this.pipeline,
      rejects: this.deadLetters,
      admit: (m) => this.admit(m),
      unknown: this.unknownDevices,
      running: () => !this.stopping,
      logger: this.logger.child({ component: 'hj212' }),
    });
  }

  private async startHj212(): Promise<void> {
    const { config: cfg, logger } = this;
    this.hj212 = new Hj212Server({
      host: cfg.hj212.host,
      port: cfg.hj212.port,
      ...this.hj212Deps(),
      logger,
    });
    this.onStop('hj212 listener', () => this.hj212!.stop());
    await this.hj212.start();
  }

  private async startHttp(): Promise<void> {
    const { config: cfg } = this;
    const metrics = gatewayMetrics(this);
    const tls = cfg.http.tls;
    this.http = await buildHttpServer({
      logger: this.logger.child({ component: 'http' }),
      https: tls ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : undefined,
      bodyLimit: cfg.http.bodyLimitKiB * 1024,
      root: [
        authPlugin({ required: cfg.auth.required, tokens: cfg.auth.tokens }),
        this.cameras.rootRoutes(),
        healthRoutes({
          mqtt: () => {
            if (!this.ingressStarted) return { ok: false, detail: 'mqtt ingress not started' };
            if (this.ingress instanceof ThreadedEmbeddedBroker && !this.ingress.running) {
              return { ok: false, detail: 'mqtt broker thread restarting' };
            }
            return { ok: true };
          },
          tsdb: () => {
            const e = this.writer.stats.lastError;
            // A write error in the last 30 s means the database is (still) failing.
            return e !== undefined && Date.now() - e.at < 30_000
              ? { ok: false, detail: `writes failing: ${e.message}` }
              : { ok: true };
          },
        }),
        metricsRoutes(metrics),
      ],
      api: [
        { plugin: deadletterRoutes(this.deadLetters), prefix: '' },
        { plugin: statsRoutes(this), prefix: '' },
        { plugin: modelRoutes(this.models, () => this.modelFiles.status()), prefix: '' },
        { plugin: alertingRoutes(this.alerting), prefix: '' },
        { plugin: this.cameras.apiRoutes(), prefix: '' },
        {
          plugin: devicesPlugin as never,
          prefix: '',
          options: {
            registry: this.registry,
            credentials: this.credentials,
            unknown: this.unknownDevices,
            actor: (req: { actor?: string }) => req.actor || 'api',
            importLimitBytes: cfg.http.importLimitMiB * 1024 * 1024,
            watch: {
              latest: this.latest,
              models: this.models,
              rejects: (id: string) => this.deadLetters.list({ deviceId: id, limit: 100 }),
            },
          },
        },
      ],
    });
    this.onStop('http', () => this.http.close());
    await this.http.listen({ host: cfg.http.host, port: cfg.http.port });
  }

  /**
   * Ingress first (nothing new comes in), then flush sinks. Safe to call twice. Each component gets
   * a bounded time (a dead Redis or database must not hold the process forever); resolves with the
   * names of those that did not stop in it.
   */
  async stop(): Promise<string[]> {
    this.stopping = true;
    this.ingressStarted = false;
    this.markIngressReady(); // release publishes waiting for an ingress that may never start
    const stoppers = this.stoppers.splice(0).reverse();
    const late: string[] = [];
    // Reverse of start order: ingress, http, then writer flush.
    for (const { name, stop, boundMs } of stoppers) {
      const ms = boundMs ?? this.stopStepMs;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), ms);
      });
      try {
        if ((await Promise.race([stop(), timedOut])) === 'late') {
          late.push(name);
          this.logger.error(
            { component: name, waitedMs: ms },
            'component did not stop in time; going on without it',
          );
        }
      } catch (err) {
        this.logger.warn({ err, component: name }, 'error while stopping');
      } finally {
        clearTimeout(timer);
      }
    }
    return late;
  }

  private onStop(name: string, stop: () => Promise<void>, boundMs?: number): void {
    this.stoppers.push({ name, stop, boundMs });
  }
}
