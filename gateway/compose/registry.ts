import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CredentialStore } from '../../adapters/registry/credentials.js';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { loadSecretKey } from '../../adapters/registry/secret-key.js';
import { UnknownDevices } from '../../adapters/registry/unknown-devices.js';
import { redactUrl } from '../../config/redact.js';
import type { GridgateConfig } from '../../config/schema.js';
import { GridgateError } from '../../processors/errors.js';
import type { Family } from '../../processors/types.js';
import { importDeviceFile } from '../device-import.js';
import type { StopList } from './stops.js';

export interface RegistryParts {
  redis: Redis;
  registry: RedisRegistry;
  credentials: CredentialStore;
  unknownDevices: UnknownDevices;
}

/**
 * Redis, the device registry on it, the per-device MQTT secrets and the list of unknown devices;
 * then the configured device file, imported. Fails with GG_ERR_REDIS_CONNECT when Redis is not there.
 */
export async function openRegistry(
  cfg: Readonly<GridgateConfig>,
  knownModels: (id: string) => Family | undefined,
  stops: StopList,
  logger: Logger,
): Promise<RegistryParts> {
  const redis = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  let lastError = '';
  redis.on('error', (err) => {
    lastError = err.message;
    logger.warn({ err: err.message }, 'redis connection error');
  });
  stops.add('redis', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  try {
    await redis.connect();
  } catch (err) {
    throw new GridgateError(
      'GG_ERR_REDIS_CONNECT',
      `cannot connect to Redis at ${redactUrl(cfg.redis.url)}`,
      [lastError || (err as Error).message, 'start Redis or set redis.url (GRIDGATE_REDIS__URL)'],
    );
  }
  const prefix = cfg.redis.prefix;
  const registry = new RedisRegistry({ redis, prefix, knownModels, logger });
  await registry.start();
  stops.add('registry', () => registry.stop());
  const secretKey = await loadSecretKey({ file: cfg.mqtt.auth.secretKeyFile, redis, prefix, logger });
  const credentials = new CredentialStore({ redis, prefix, secretKey, logger });
  const unknownDevices = new UnknownDevices({ redis, prefix, logger });
  unknownDevices.start();
  stops.add('unknown devices', () => unknownDevices.stop());
  if (cfg.devices.import) {
    const r = await importDeviceFile(registry, cfg.devices.import, 'config-import');
    logger.info({ file: cfg.devices.import, result: r }, 'device file imported');
  }
  return { redis, registry, credentials, unknownDevices };
}
