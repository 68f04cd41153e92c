/** Shared set-up for the security tests: a real Redis registry and credential store, an embedded broker wired with the device auth hooks, and real mosquitto clients. */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import {
  createDeviceAuth,
  type DeviceAuth,
  type DeviceAuthOptions,
} from '../../adapters/mqtt/device-auth.js';
import { EmbeddedBroker, type EmbeddedBrokerOptions } from '../../adapters/mqtt/embedded-broker.js';
import { ThreadedEmbeddedBroker } from '../../adapters/mqtt/threaded-broker.js';
import { CredentialStore } from '../../adapters/registry/credentials.js';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { secretKey } from '../../adapters/registry/secret-hash.js';
import { UnknownDevices } from '../../adapters/registry/unknown-devices.js';
import { ModelIndex } from '../../processors/devices/index.js';
import type { DeviceInput } from '../../processors/registry/device-schema.js';
import { TopicRouter } from '../../processors/topics.js';
import type { InboundMessage } from '../../processors/types.js';

export const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };
export const quiet: Logger = pino({ level: 'silent' });

export const models = new ModelIndex();
export const router = new TopicRouter(models.all());

export function gauge(id: string, extra: Partial<DeviceInput> = {}): DeviceInput {
  return {
    id,
    model: 'hydrotek-wl300',
    location: { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '第3网格' },
    state: 'active',
    ...extra,
  };
}

export interface SecurityEnv {
  redis: Redis;
  prefix: string;
  registry: RedisRegistry;
  credentials: CredentialStore;
  unknown: UnknownDevices;
  /** Registers active gauges and returns their one-time secrets. */
  addDevices(ids: readonly string[]): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export async function securityEnv(redisUrl: string): Promise<SecurityEnv> {
  const redis = new Redis(redisUrl);
  const prefix = `gg-test:${randomUUID()}:`;
  const registry = new RedisRegistry({ redis, prefix, knownModels: (id) => models.get(id)?.family });
  await registry.start();
  // As the gateway runs it: device secrets stored as keyed hashes under a key kept outside Redis.
  const credentials = new CredentialStore({
    redis,
    prefix,
    scrypt: FAST_SCRYPT,
    secretKey: secretKey(randomBytes(32)),
  });
  const unknown = new UnknownDevices({ redis, prefix });
  return {
    redis,
    prefix,
    registry,
    credentials,
    unknown,
    async addDevices(ids) {
      const secrets: Record<string, string> = {};
      for (const id of ids) {
        await registry.add(gauge(id), 'test');
        secrets[id] = await credentials.rotate(id);
      }
      return secrets;
    },
    async close() {
      await unknown.stop();
      await registry.stop();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

export interface SecuredBroker {
  broker: EmbeddedBroker | ThreadedEmbeddedBroker;
  auth: DeviceAuth;
  received: InboundMessage[];
  stop(): Promise<void>;
}

export async function securedBroker(
  env: SecurityEnv,
  authOpts: Partial<DeviceAuthOptions> = {},
  brokerOpts: Partial<EmbeddedBrokerOptions> = {},
  /** On a worker thread of its own (ThreadedEmbeddedBroker), as the gateway runs it by default. */
  threaded = false,
): Promise<SecuredBroker> {
  const auth = createDeviceAuth({
    devices: env.registry,
    credentials: env.credentials,
    models,
    required: true,
    maxFailures: 5,
    lockoutS: 60,
    maxTopicDepth: 8,
    unknown: env.unknown,
    logger: quiet,
    ...authOpts,
  });
  const received: InboundMessage[] = [];
  const broker = new (threaded ? ThreadedEmbeddedBroker : EmbeddedBroker)({
    host: '127.0.0.1',
    port: 0,
    maxPayloadBytes: 1024,
    route: (t) => router.match(t),
    onMessage: (m) => received.push(m),
    logger: quiet,
    authenticate: auth.authenticate,
    authorizePublish: auth.authorizePublish,
    authorizeSubscribe: auth.authorizeSubscribe,
    ...brokerOpts,
  });
  await broker.start();
  return { broker, auth, received, stop: () => broker.stop() };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real mosquitto client (Debian's mosquitto-clients) and reports its exit code and output. */
export function mosquitto(
  bin: 'mosquitto_pub' | 'mosquitto_sub',
  args: readonly string[],
  stdin?: string,
  timeoutMs = 15_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      ['-h', '127.0.0.1', ...args],
      { timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** Poll until `cond` holds or throw after the deadline (a deadline, not a timing assertion). */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
