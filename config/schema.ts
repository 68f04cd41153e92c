import { z } from 'zod';
import { shippedRulesDir } from './paths.js';
import { camerasSchema } from './schema/cameras.js';
import { hostPort, tls } from './schema/common.js';
import { dispatchSchema } from './schema/dispatch.js';
import { mqttSchema } from './schema/mqtt.js';
import { tsdbSchema } from './schema/tsdb.js';

/**
 * The one configuration schema (after fastify's initial-config-validation and zigbee2mqtt's
 * settings.validate()): validated once at start, every error listed with its path, then frozen.
 * The TypeScript type is derived from it so the two cannot drift. Every key has a default, so
 * `gridgate start` runs with no file at all. The larger sections are in config/schema/<section>.ts.
 */
export const configSchema = z.strictObject({
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      pretty: z.boolean().optional().describe('human-readable logs; default: when stdout is a TTY'),
    })
    .prefault({}),
  http: hostPort(8080)
    .extend({
      tls,
      bodyLimitKiB: z
        .number()
        .int()
        .min(1)
        .max(16 * 1024)
        .default(64)
        .describe('largest request body of every route but the device import (a device, a patch, a silence)'),
      importLimitMiB: z
        .number()
        .int()
        .min(1)
        .max(1024)
        .default(64)
        .describe(
          'largest POST /api/v1/devices/import body; CSV is parsed as it arrives, JSON and YAML are read whole',
        ),
    })
    .prefault({})
    .describe('HTTP API: /healthz, /metrics, /api/v1/...'),
  mqtt: mqttSchema,
  auth: z
    .strictObject({
      required: z
        .boolean()
        .default(true)
        .describe(
          'HTTP API needs a bearer token (except /healthz and /metrics); false only for a local demo',
        ),
      tokens: z
        .array(
          z.strictObject({
            name: z.string().min(1).describe('who holds it (shown in the audit log, never the token)'),
            role: z.enum(['installer', 'engineer', 'reader', 'admin']),
            sha256: z
              .string()
              .regex(/^[0-9a-f]{64}$/, 'hex SHA-256 of the token: `gridgate tokens new` prints one'),
          }),
        )
        .default([]),
    })
    .prefault({}),
  hj212: z
    .strictObject({
      enabled: z.boolean().default(false),
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(9212),
      mqttTopic: z.string().default('hj212/{mn}').describe('MQTT topic DTUs publish raw HJ 212 frames on'),
    })
    .prefault({}),
  tsdb: tsdbSchema,
  redis: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'must be redis://host:port')
        .default('redis://127.0.0.1:6379'),
      prefix: z.string().default('gridgate:'),
    })
    .prefault({}),
  devices: z
    .strictObject({
      import: z
        .string()
        .optional()
        .describe('YAML or CSV device file imported into the Redis registry at start (idempotent)'),
    })
    .prefault({}),
  rules: z
    .strictObject({
      dir: z
        .string()
        .default(shippedRulesDir)
        .describe("rule files; default: the rules shipped in gridgate's package (config/rules)"),
      watch: z.boolean().default(true).describe('hot reload on file change'),
      tickMs: z.number().int().min(100).default(5000).describe('how often no-data rules are checked'),
    })
    .prefault({}),
  models: z
    .strictObject({
      dir: z
        .string()
        .optional()
        .describe(
          'folder of YAML device-model files, added to the shipped models (gridgate models validate DIR)',
        ),
      watch: z.boolean().default(true).describe('hot reload on file change'),
    })
    .prefault({}),
  dispatch: dispatchSchema,
  cameras: camerasSchema,
  limits: z
    .strictObject({
      deviceRatePerS: z
        .number()
        .min(0.01)
        .default(20)
        .describe('sustained messages/s per device (token bucket)'),
      deviceBurst: z.number().int().min(1).default(100),
      maxConnectionsPerIp: z.number().int().min(1).default(5000),
      maxTopicDepth: z.number().int().min(1).max(64).default(8),
    })
    .prefault({}),
  ingest: z
    .strictObject({
      maxPayloadBytes: z
        .number()
        .int()
        .min(64)
        .max(16 * 1024 * 1024)
        .default(256 * 1024),
      maxDepth: z.number().int().min(2).max(1000).default(32),
      maxFutureSkewS: z.number().int().min(0).default(300),
      maxAgeS: z
        .number()
        .int()
        .min(60)
        .default(7 * 24 * 3600),
      deadLetterCapacity: z.number().int().min(10).max(1_000_000).default(1000),
      logIntervalS: z
        .number()
        .int()
        .min(1)
        .default(60)
        .describe('at most one log line per device and reason per interval'),
      capture: z
        .string()
        .optional()
        .describe('write normalized readings as NDJSON here (for `gridgate rules test`)'),
    })
    .prefault({}),
});

export type GridgateConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
