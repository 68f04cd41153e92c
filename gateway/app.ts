import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { hj212Ingest } from '../adapters/hj212/ingest.js';
import { Hj212Server } from '../adapters/hj212/tcp-server.js';
import type { TsdbWriter } from '../adapters/tsdb/influx-writer.js';
import { ThreadedInfluxWriter } from '../adapters/tsdb/threaded-writer.js';
import type { GridgateConfig } from '../config/schema.js';
import { DeadLetterStore } from '../processors/deadletters.js';
import { ModelIndex } from '../processors/devices/index.js';
import { GridgateError } from '../processors/errors.js';
import { LatestReadings } from '../processors/latest.js';
import { Pipeline } from '../processors/pipeline.js';
import { CaptureFormatter } from '../processors/rules/capture-format.js';
import type { ReadingSink } from '../processors/types.js';
import { Alerting } from './alerting.js';
import { CameraEdge } from './cameras.js';
import { CaptureSink } from './capture.js';
import { buildHttp, edgeHealth } from './compose/http.js';
import {
  buildIngress,
  type DeviceEdge,
  type GatewayIngress,
  GatewayPublisher,
  rateGate,
  subscriptionFilters,
} from './compose/ingress.js';
import { openRegistry } from './compose/registry.js';
import { StopList } from './compose/stops.js';
import { alertDeliveryCheck, spoolHealthCheck } from './http/routes/health.js';
import { ModelFiles } from './models.js';

export interface GatewayOptions {
  config: Readonly<GridgateConfig>;
  logger: Logger;
  /** How long stop() waits for one component (the time-series writer gets longer, for its own flush). */
  stopStepMs?: number;
}

const STOP_STEP_MS = 10_000;
/** Past the writer's own flush bound: stop() waits this long for the last batches. */
const WRITER_STOP_MS = 35_000;

/** The parts start() built that the gateway itself reads. */
interface Running {
  pipeline: Pipeline;
  writer: TsdbWriter;
  cameras: CameraEdge;
  ingress: GatewayIngress;
  http: FastifyInstance;
  hj212: Hj212Server | undefined;
}

/**
 * The composition root: builds every component from the validated config and hands each the
 * narrow interface it reads (metrics, stats, health and routes get read-only sources, never the
 * gateway). Starts them in dependency order (sinks before ingress) and stops them in reverse
 * (ingress first, then flush). Nothing here is on the hot path.
 */
export class Gateway {
  readonly config: Readonly<GridgateConfig>;
  readonly logger: Logger;
  readonly models = new ModelIndex();
  readonly modelFiles: ModelFiles;
  readonly deadLetters: DeadLetterStore;
  readonly latest = new LatestReadings();
  private readonly stops: StopList;
  private readonly publisher = new GatewayPublisher();
  private running: Running | undefined;
  /** Set by stop(): the broker dropping every client then is not each device going offline. */
  private stopping = false;
  /** The MQTT edge has started (and not stopped): /healthz is not ok before, so a client waiting for it can connect. */
  private ingressStarted = false;

  constructor(opts: GatewayOptions) {
    this.config = opts.config;
    this.logger = opts.logger;
    this.stops = new StopList(opts.logger, opts.stopStepMs ?? STOP_STEP_MS);
    this.modelFiles = new ModelFiles({
      ...opts.config.models,
      index: this.models,
      reroute: (router) => this.running?.ingress.forgetRoutes(subscriptionFilters(opts.config, router)),
      logger: opts.logger.child({ component: 'models' }),
    });
    this.deadLetters = new DeadLetterStore({
      capacity: opts.config.ingest.deadLetterCapacity,
      logIntervalMs: opts.config.ingest.logIntervalS * 1000,
      logger: opts.logger.child({ component: 'ingest' }),
    });
  }

  /** MQTT port actually bound (embedded broker), HTTP port, HJ 212 port. */
  get ports(): { mqtt?: number; http?: number; hj212?: number } {
    const addr = this.running?.http.server.address();
    return {
      mqtt: this.running?.ingress.port,
      http: typeof addr === 'object' && addr ? addr.port : undefined,
      hj212: this.running?.hj212?.port,
    };
  }

  /** The ingest pipeline (after start()). */
  get pipeline(): Pipeline {
    return this.part().pipeline;
  }

  /** The time-series writer (after start()). */
  get writer(): TsdbWriter {
    return this.part().writer;
  }

  /** The HJ 212 TCP listener, when hj212.enabled (after start()). */
  get hj212(): Hj212Server | undefined {
    return this.part().hj212;
  }

  /** The RTSP edge (after start()). */
  get cameras(): CameraEdge {
    return this.part().cameras;
  }

  async start(): Promise<void> {
    const { config: cfg, logger, stops, deadLetters, latest, models } = this;
    try {
      // Before anything reads a model: the registry checks device models against the full set.
      await this.modelFiles.start();
      stops.add('models watcher', () => this.modelFiles.stop());
      const parts = await openRegistry(cfg, (id) => models.get(id)?.family, stops, logger);
      const writer = new ThreadedInfluxWriter({ ...cfg.tsdb, logger });
      stops.add('tsdb writer', () => writer.stop(), WRITER_STOP_MS);
      await writer.ready;
      const cameras = await CameraEdge.open({
        config: cfg,
        registry: parts.registry,
        redis: parts.redis,
        handle: (msg) => pipeline.handle(msg),
        logger: logger.child({ component: 'cameras' }),
      });
      stops.add('snapshot store', () => cameras.snapshots.stop());
      const alerting = await Alerting.create({
        config: cfg,
        redis: parts.redis,
        devices: parts.registry,
        snapshots: cameras.evidence(),
        publish: (topic, payload, opts) => this.publisher.publish(topic, payload, opts),
        logger: logger.child({ component: 'alerting' }),
      });
      await alerting.start();
      stops.add('alerting', () => alerting.stop());
      const sinks: ReadingSink[] = [writer, latest, alerting.engine];
      if (cfg.ingest.capture) {
        // Every reading, as the rule engine's capture line.
        const format = new CaptureFormatter();
        const capture = new CaptureSink(cfg.ingest.capture, (r, d) => format.line(r, d).trimEnd());
        stops.add('capture', () => capture.stop());
        sinks.push(capture);
      }
      const pipeline = new Pipeline({
        devices: parts.registry,
        models,
        sinks,
        rejects: deadLetters,
        limits: {
          maxPayloadBytes: cfg.ingest.maxPayloadBytes,
          maxDepth: cfg.ingest.maxDepth,
          maxFutureSkewMs: cfg.ingest.maxFutureSkewS * 1000,
          maxAgeMs: cfg.ingest.maxAgeS * 1000,
        },
        logger: logger.child({ component: 'pipeline' }),
      });
      const { limiter, admit } = rateGate(cfg, deadLetters, logger);
      // What both device edges hand messages to.
      const edge: DeviceEdge = {
        pipeline,
        rejects: deadLetters,
        admit,
        running: () => !this.stopping,
        settled: () => writer.settled(),
      };
      const hj212 = hj212Ingest({ ...edge, registry: parts.registry, unknown: parts.unknownDevices });
      const { ingress, deviceAuth } = buildIngress({
        ...edge,
        config: cfg,
        router: () => this.modelFiles.router,
        hj212,
        parts,
        models,
        logger,
      });
      // What /api/v1/stats reads; /metrics reads these and more.
      const stats = { pipeline, writer, registry: parts.registry, latest, rateLimiter: limiter };
      const alertDelivery = () => alerting.dispatcher.stats();
      const http = await buildHttp({
        config: cfg,
        logger,
        metrics: { ...stats, deadLetters, deviceAuth, ingress, alertDelivery },
        stats,
        health: {
          ...edgeHealth(ingress, () => this.ingressStarted, writer),
          alerts: alertDeliveryCheck(alertDelivery),
          spool: spoolHealthCheck(writer, ingress),
        },
        deadLetters,
        latest,
        models,
        modelStatus: () => this.modelFiles.status(),
        alerting,
        cameras,
        parts,
      });
      const tcp = cfg.hj212.enabled
        ? new Hj212Server({ host: cfg.hj212.host, port: cfg.hj212.port, ...hj212, logger })
        : undefined;
      this.running = { pipeline, writer, cameras, ingress, http, hj212: tcp };

      stops.add('http', () => http.close());
      await http.listen({ host: cfg.http.host, port: cfg.http.port });
      stops.add('mqtt ingress', () => ingress.stop());
      await ingress.start();
      this.ingressStarted = true;
      this.publisher.open(ingress);
      if (tcp) {
        stops.add('hj212 listener', () => tcp.stop());
        await tcp.start();
      }
      // Last in, first out: camera supervision stops before the writer flushes.
      await cameras.start();
      stops.add('camera supervision', () => cameras.stop());
      logger.info(
        { ports: this.ports, devices: parts.registry.size, models: models.all().length },
        'gridgate started',
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The longest stop() can take with what start() built: each component's bound, added up. */
  stopBoundMs(): number {
    return this.stops.worstMs();
  }

  /**
   * Ingress first (nothing new comes in), then flush sinks. Safe to call twice. Each component gets
   * a bounded time (a dead Redis or database must not hold the process forever); resolves with the
   * names of those that did not stop in it.
   */
  async stop(): Promise<string[]> {
    this.stopping = true;
    this.ingressStarted = false;
    this.publisher.close();
    return this.stops.stopAll();
  }

  private part(): Running {
    if (!this.running)
      throw new GridgateError('GG_ERR_CONFLICT', 'the gateway is not running; call start() first');
    return this.running;
  }
}
