import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { Alerting } from '../../gateway/alerting.js';
import { alertingRoutes } from '../../gateway/http/routes/alerting.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import type { Device } from '../../processors/types.js';
import { device } from './helpers.js';

/**
 * The real alerting subsystem (engine, Redis incident store and silences, BullMQ dispatch and
 * supervision) behind the real HTTP routes, on a free port: what `gridgate start` wires, minus the
 * ingress. Readings go straight into `alerting.engine`; the outward events land in `alerting.recent`.
 */
export interface AlertingApi {
  alerting: Alerting;
  url: string;
  devices: Map<string, Device>;
  close(): Promise<void>;
}

export async function startAlertingApi(ruleYaml: string): Promise<AlertingApi> {
  const dir = await mkdtemp(join(tmpdir(), 'gg-alerting-api-'));
  await writeFile(join(dir, 'rules.yaml'), ruleYaml);
  const suffix = Math.random().toString(36).slice(2, 10);
  const prefix = `gg-test-${suffix}:`;
  const config = loadConfig({
    env: {
      GRIDGATE_REDIS__URL: inject('redisUrl'),
      GRIDGATE_REDIS__PREFIX: prefix,
      GRIDGATE_RULES__DIR: dir,
      GRIDGATE_RULES__WATCH: 'false',
      GRIDGATE_DISPATCH__QUEUE: `alerts-${suffix}`,
      GRIDGATE_MQTT__ALERT_TOPIC: '',
      GRIDGATE_DISPATCH__OUTBOX__DIR: join(dir, 'outbox'),
    },
  });
  const redis = new Redis(config.redis.url);
  const devices = new Map<string, Device>([['WL-001', device()]]);
  const logger = pino({ level: 'silent' });
  const alerting = await Alerting.create({
    config,
    redis,
    devices: { get: (id) => devices.get(id) },
    publish: async () => {},
    logger,
  });
  await alerting.start();
  const app: FastifyInstance = await buildHttpServer({
    logger,
    root: [],
    api: [{ plugin: alertingRoutes(alerting), prefix: '' }],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    alerting,
    url: `http://127.0.0.1:${port}`,
    devices,
    async close() {
      await app.close();
      await alerting.stop();
      // Incident state under the prefix; BullMQ's queues (dispatch, supervision) under its own prefix.
      const keys = await redis.keys(`*${suffix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
