import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  DEFAULT_SCRYPT,
  generateSecret,
  hashSecret,
  type ScryptParams,
  verifySecret,
} from './secret-hash.js';

export interface CredentialStoreOptions {
  redis: Redis;
  /** Key prefix shared with the registry, e.g. `gridgate:`; hashes live in `<prefix>credentials`. */
  prefix?: string;
  scrypt?: ScryptParams;
  logger?: Logger;
}

/**
 * Per-device MQTT secrets (issue 4, Security): generated here, returned exactly once, stored only
 * as a scrypt hash. The broker's `authenticate` hook calls `verify(clientId, password)`.
 */
export class CredentialStore {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #params: ScryptParams;
  readonly #log: Logger | undefined;
  /** Compared against when the device has no secret, so unknown ids cost as much as known ones. */
  #decoy: Promise<string> | undefined;

  constructor(opts: CredentialStoreOptions) {
    this.#redis = opts.redis;
    this.#key = `${opts.prefix ?? 'gridgate:'}credentials`;
    this.#params = opts.scrypt ?? DEFAULT_SCRYPT;
    this.#log = opts.logger?.child({ component: 'credentials' });
  }

  /** A new secret for the device, replacing any old one. The only time the secret is visible. */
  async rotate(deviceId: string): Promise<string> {
    const secret = generateSecret();
    await this.#redis.hset(this.#key, deviceId, await hashSecret(secret, this.#params));
    this.#log?.info({ device: deviceId }, 'device secret issued');
    return secret;
  }

  async verify(deviceId: string, secret: string): Promise<boolean> {
    const stored = await this.#redis.hget(this.#key, deviceId);
    if (stored === null) {
      this.#decoy ??= hashSecret(generateSecret(), this.#params);
      await verifySecret(secret, await this.#decoy);
      return false;
    }
    return verifySecret(secret, stored);
  }

  async has(deviceId: string): Promise<boolean> {
    return (await this.#redis.hexists(this.#key, deviceId)) === 1;
  }

  /** Removes the device's secret: it can no longer connect (used when a device is retired). */
  async revoke(deviceId: string): Promise<void> {
    await this.#redis.hdel(this.#key, deviceId);
    this.#log?.info({ device: deviceId }, 'device secret revoked');
  }
}
