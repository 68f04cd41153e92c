import { z } from 'zod';
import { FAMILIES } from '../processors/types.js';
import { shippedRulesDir } from './paths.js';

/**
 * The one configuration schema (after fastify's initial-config-validation and zigbee2mqtt's
 * settings.validate()): validated once at start, every error listed with its path, then frozen.
 * The TypeScript type is derived from it so the two cannot drift. Every key has a default, so
 * `gridgate start` runs with no file at all.
 */

const hostPort = (port: number) =>
  z.strictObject({
    host: z.string().min(1).default('127.0.0.1').describe('interface to bind'),
    port: z.number().int().min(0).max(65535).default(port).describe('TCP port (0 picks a free one)'),
  });

const tls = z
  .strictObject({
    cert: z.string().min(1).describe('PEM certificate path'),
    key: z.string().min(1).describe('PEM private key path'),
  })
  .optional();

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
  mqtt: z
    .strictObject({
      url: z
        .string()
        .regex(/^(mqtts?|tcp|ssl|wss?):\/\//, 'must be a broker URL like mqtt://host:1883')
        .optional()
        .describe('external broker; when set, the embedded broker is not started'),
      clientId: z
        .string()
        .min(1)
        .max(64)
        .optional()
        .describe('external mode: stable client id (default gridgate-<hostname>)'),
      username: z.string().optional(),
      password: z.string().optional(),
      protocolVersion: z
        .union([z.literal(4), z.literal(5)])
        .default(4)
        .describe(
          'external mode: 4 = MQTT 3.1.1 (every broker; measured ~9% faster with mosquitto), 5 = MQTT 5 (No Local, session expiry)',
        ),
      thread: z
        .boolean()
        .default(true)
        .describe('external mode: run the MQTT client (socket, parsing, acks) on a worker thread'),
      auth: z
        .strictObject({
          required: z
            .boolean()
            .default(true)
            .describe(
              'devices connect with username = device id, password = its secret; false only for a local demo',
            ),
          maxFailures: z
            .number()
            .int()
            .min(1)
            .default(5)
            .describe(
              'failed logins from one address with one client id before that pair is locked for lockoutS; the same client id from another address is not affected',
            ),
          lockoutS: z
            .number()
            .int()
            .min(1)
            .default(60)
            .describe(
              'how long a locked (address, client id) pair waits; also the longest backoff of an address',
            ),
          maxFailuresPerAddress: z
            .number()
            .int()
            .min(1)
            .default(20)
            .describe(
              'failed logins from one address over all client ids before the address backs off (1 s, doubling per further failure, up to lockoutS); clients that logged in from it before are not held back',
            ),
          checksPerS: z
            .number()
            .int()
            .min(1)
            .default(2000)
            .describe(
              'secret checks per second over all clients; past it, CONNACK 3 (server unavailable) and devices retry',
            ),
          slowChecksPerS: z
            .number()
            .int()
            .min(1)
            .default(20)
            .describe(
              'scrypt checks per second (mqtt.auth.users, device hashes not yet migrated to the keyed form); past it, CONNACK 3',
            ),
          secretKeyFile: z
            .string()
            .min(1)
            .default('data/mqtt-secret.key')
            .describe(
              'server-side key of device-secret hashes, never stored in Redis; generated (mode 0600) on first start. Back it up with Redis',
            ),
          users: z
            .array(
              z.strictObject({
                username: z.string().min(1),
                scrypt: z.string().min(1).describe('`gridgate tokens hash-secret` output'),
                publish: z.array(z.string()).default([]),
                subscribe: z.array(z.string()).default(['alerts/#']),
              }),
            )
            .default([])
            .describe('non-device clients, e.g. downstream systems subscribing to alerts/#'),
        })
        .prefault({}),
      embedded: hostPort(1883)
        .extend({
          tls,
          readBudgetMs: z
            .number()
            .min(0)
            .max(1000)
            .optional()
            .describe(
              'work one event-loop turn may spend reading connections before the others are polled (fairness under load); 0 reads each connection to empty. Default 0.5 on the broker thread (it also sets how soon messages reach the pipeline), 4 without it',
            ),
          thread: z
            .boolean()
            .default(true)
            .describe(
              'run the broker (listener, MQTT parsing, acks) on a worker thread, the pipeline on the main one',
            ),
        })
        .prefault({})
        .describe('embedded aedes broker listener'),
      alertTopic: z
        .string()
        .default('alerts/{district}/{severity}')
        .describe("topic alert events are published on; '' turns it off"),
    })
    .prefault({}),
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
  tsdb: z
    .strictObject({
      url: z
        .string()
        .regex(/^https?:\/\/[^/]/, 'must be an http:// or https:// URL like http://127.0.0.1:8428')
        .url()
        .default('http://127.0.0.1:8428')
        .describe('InfluxDB 2/3 or VictoriaMetrics base URL'),
      token: z.string().default('').describe('API token (VictoriaMetrics ignores it)'),
      org: z.string().default('gridgate'),
      bucket: z.string().default('gridgate'),
      batchSize: z.number().int().min(1).max(100_000).default(5000),
      flushIntervalMs: z.number().int().min(10).max(600_000).default(1000),
      gzip: z.boolean().default(true),
      maxRetries: z.number().int().min(0).default(5),
      maxBufferLines: z.number().int().min(1000).default(100_000),
      thread: z
        .boolean()
        .default(true)
        .describe('write from a worker thread (client, HTTP, gzip, retries off the ingest thread)'),
    })
    .prefault({}),
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
  dispatch: z
    .strictObject({
      queue: z.string().min(1).default('gridgate-alerts'),
      prefix: z
        .string()
        .min(1)
        .default('bull')
        .describe('BullMQ key prefix; consumers must use the same (BullMQ default: bull)'),
      routes: z
        .array(
          z.strictObject({
            match: z.strictObject({
              district: z.string().optional(),
              family: z.enum(FAMILIES).optional(),
              severity: z.enum(['blue', 'yellow', 'orange', 'red']).optional(),
            }),
            queue: z.string().min(1),
          }),
        )
        .default([]),
    })
    .prefault({}),
  cameras: z
    .strictObject({
      ffmpeg: z.string().min(1).default('ffmpeg').describe('ffmpeg binary (5.1 or newer)'),
      maxProcesses: z
        .number()
        .int()
        .min(1)
        .default(200)
        .describe(
          'ffmpeg processes gridgate may run at once (one analysis per camera, plus live relays and snapshots); cameras past it are refused with GG_ERR_CAMERA_CAP',
        ),
      statsIntervalS: z
        .number()
        .min(0.5)
        .max(60)
        .default(2)
        .describe('how often each camera reports its `camera` reading (fps, bitrate, picture measures)'),
      stallS: z
        .number()
        .min(2)
        .max(300)
        .default(8)
        .describe('an analysis process with no progress for this long is killed and restarted'),
      connectTimeoutS: z.number().min(1).max(120).default(5).describe('RTSP connect and read timeout'),
      backoff: z
        .strictObject({
          initialS: z.number().min(0.1).default(1),
          maxS: z.number().min(1).default(60),
        })
        .prefault({})
        .describe('restart delay after a stream drops: doubles from initialS up to maxS'),
      snapshots: z
        .strictObject({
          dir: z
            .string()
            .min(1)
            .default('data/snapshots')
            .describe('where alert snapshots are kept (mode 0700)'),
          maxAgeH: z.number().min(1).default(168).describe('snapshots older than this are deleted'),
          maxMB: z.number().min(1).default(1024).describe('total size kept; the oldest go first'),
          waitMs: z
            .number()
            .int()
            .min(0)
            .max(30_000)
            .default(2000)
            .describe('how long an alert event may wait for its snapshots before it is sent without them'),
        })
        .prefault({}),
      live: z
        .strictObject({
          roles: z
            .array(z.enum(['reader', 'installer', 'engineer', 'admin']))
            .default(['installer', 'engineer', 'admin'])
            .describe('API token roles allowed to open a live view (admin always may)'),
          idleStopS: z
            .number()
            .min(0)
            .default(5)
            .describe('a relay stops this long after its last viewer leaves'),
        })
        .prefault({}),
    })
    .prefault({})
    .describe('RTSP cameras: picture supervision, alert snapshots, live view'),
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
