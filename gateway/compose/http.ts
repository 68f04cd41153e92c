import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { TsdbWriter } from '../../adapters/tsdb/influx-writer.js';
import type { GridgateConfig } from '../../config/schema.js';
import type { DeadLetterStore } from '../../processors/deadletters.js';
import type { ModelIndex } from '../../processors/devices/index.js';
import type { LatestReadings } from '../../processors/latest.js';
import type { Alerting } from '../alerting.js';
import type { CameraEdge } from '../cameras.js';
import { authPlugin } from '../http/auth.js';
import { alertingRoutes } from '../http/routes/alerting.js';
import { deadletterRoutes } from '../http/routes/deadletters.js';
import { type DeviceRoutesOptions, devicesPlugin } from '../http/routes/devices.js';
import { type HealthCheck, healthRoutes } from '../http/routes/health.js';
import { metricsRoutes } from '../http/routes/metrics.js';
import { modelRoutes } from '../http/routes/models.js';
import { type StatsSources, statsRoutes } from '../http/routes/stats.js';
import { buildHttpServer } from '../http/server.js';
import { gatewayMetrics, type MetricsSources } from '../metrics.js';
import type { ModelFilesStatus } from '../models.js';
import type { RegistryParts } from './registry.js';

/** Everything the HTTP API serves, each route handed only what it reads. */
export interface HttpDeps {
  config: Readonly<GridgateConfig>;
  logger: Logger;
  metrics: MetricsSources;
  stats: StatsSources;
  health: Record<string, HealthCheck>;
  deadLetters: DeadLetterStore;
  latest: Pick<LatestReadings, 'get'>;
  models: ModelIndex;
  modelStatus: () => ModelFilesStatus;
  alerting: Alerting;
  cameras: CameraEdge;
  parts: Pick<RegistryParts, 'registry' | 'credentials' | 'unknownDevices'>;
}

/** The HTTP server with every route, not yet listening. */
export function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const { config: cfg, parts } = deps;
  const tls = cfg.http.tls;
  const devices: DeviceRoutesOptions = {
    registry: parts.registry,
    credentials: parts.credentials,
    unknown: parts.unknownDevices,
    importLimitBytes: cfg.http.importLimitMiB * 1024 * 1024,
    watch: {
      latest: deps.latest,
      models: deps.models,
      rejects: (id) => deps.deadLetters.list({ deviceId: id, limit: 100 }),
    },
  };
  return buildHttpServer({
    logger: deps.logger.child({ component: 'http' }),
    https: tls ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : undefined,
    bodyLimit: cfg.http.bodyLimitKiB * 1024,
    root: [
      authPlugin({ required: cfg.auth.required, tokens: cfg.auth.tokens }),
      deps.cameras.rootRoutes(),
      healthRoutes(deps.health),
      metricsRoutes(gatewayMetrics(deps.metrics)),
    ],
    api: [
      { plugin: deadletterRoutes(deps.deadLetters) },
      { plugin: statsRoutes(deps.stats) },
      { plugin: modelRoutes(deps.models, deps.modelStatus) },
      { plugin: alertingRoutes(deps.alerting) },
      { plugin: deps.cameras.apiRoutes() },
      { plugin: devicesPlugin as never, options: devices },
    ],
  });
}

/** /healthz: the MQTT edge is up (and its thread not restarting), and the database took the last writes. */
export function edgeHealth(
  ingress: { readonly running?: boolean },
  started: () => boolean,
  writer: Pick<TsdbWriter, 'stats'>,
): Record<string, HealthCheck> {
  return {
    mqtt: () => {
      if (!started()) return { ok: false, detail: 'mqtt ingress not started' };
      if (ingress.running === false) return { ok: false, detail: 'mqtt broker thread restarting' };
      return { ok: true };
    },
    tsdb: () => {
      const e = writer.stats.lastError;
      // A write error in the last 30 s means the database is (still) failing.
      return e !== undefined && Date.now() - e.at < 30_000
        ? { ok: false, detail: `writes failing: ${e.message}` }
        : { ok: true };
    },
  };
}
