import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  DEFAULT_SCRYPT,
  generateSecret,
  type HashCost,
  hashCost,
  hashKeyId,
  hashSecret,
  hashSecretKeyed,
  type ScryptParams,
  type SecretKey,
  verifySecret,
} from './secret-hash.js';

export interface CredentialStoreOptions {
  redis: Redis;
  /** Key prefix shared with the registry, e.g. `gridgate:`; hashes live in `<prefix>credentials`. */
  prefix?: string;
  /**
   * Server-side key for the fast keyed hash (secret-key.ts loads it). The gateway always passes
   * one; without it new secrets are stored with scrypt.
   */
  secretKey?: SecretKey;
  scrypt?: ScryptParams;
  logger?: Logger;
}

/** One pending check: its cost is known before any hashing, so the caller can budget it. */
export interface SecretCheck {
  readonly cost: HashCost;
  verify(secret: string): Promise<boolean>;
}

/** Replaces a stored hash only if it is still the one that was checked (a rotation in between wins). */
const SWAP_IF_UNCHANGED = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return -1`;

/**
 * Per-device MQTT secrets: generated here, returned exactly once, stored only as a hash. New
 * secrets get the keyed hash (secret-hash.ts): they are 24 random bytes, so a slow hash buys
 * nothing and costs every reconnect. A device whose hash is scrypt still logs in (scrypt once) and
 * its hash is then replaced by the keyed form (lazy migration): nobody has to re-provision a
 * device, and the fleet's next reconnect is fast.
 */
export class CredentialStore {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #params: ScryptParams;
  readonly #secretKey: SecretKey | undefined;
  readonly #log: Logger | undefined;
  /** Compared against when the device has no secret, so unknown ids cost as much as known ones. */
  #decoy: Promise<string> | undefined;
  readonly stats = {
    /** Stored scrypt hashes replaced by the keyed form after a successful login. */
    migrated: 0,
    /** Keyed hashes made under another key than this gateway's (a wrong or replaced key file). */
    foreignKey: 0,
  };

  constructor(opts: CredentialStoreOptions) {
    this.#redis = opts.redis;
    this.#key = `${opts.prefix ?? 'gridgate:'}credentials`;
    this.#params = opts.scrypt ?? DEFAULT_SCRYPT;
    this.#secretKey = opts.secretKey;
    this.#log = opts.logger?.child({ component: 'credentials' });
  }

  /** A new secret for the device, replacing any old one. The only time the secret is visible. */
  async rotate(deviceId: string): Promise<string> {
    const secret = generateSecret();
    await this.#redis.hset(this.#key, deviceId, await this.#hash(secret));
    this.#log?.info({ device: deviceId }, 'device secret issued');
    return secret;
  }

  async verify(deviceId: string, secret: string): Promise<boolean> {
    return (await this.check(deviceId)).verify(secret);
  }

  /** Looks the stored hash up (one Redis read) and says what checking it will cost. */
  async check(deviceId: string): Promise<SecretCheck> {
    const stored = await this.#redis.hget(this.#key, deviceId);
    if (stored === null) {
      this.#decoy ??= this.#hash(generateSecret());
      const decoy = await this.#decoy;
      return {
        cost: hashCost(decoy) ?? 'slow',
        verify: async (secret) => {
          await verifySecret(secret, decoy, this.#secretKey);
          return false;
        },
      };
    }
    const cost = hashCost(stored) ?? 'fast';
    const key = this.#secretKey;
    return {
      cost,
      verify: async (secret) => {
        if (!(await verifySecret(secret, stored, key))) {
          this.#noteForeignKey(deviceId, stored);
          return false;
        }
        if (cost === 'slow' && key) await this.#migrate(deviceId, stored, hashSecretKeyed(secret, key));
        return true;
      },
    };
  }

  async has(deviceId: string): Promise<boolean> {
    return (await this.#redis.hexists(this.#key, deviceId)) === 1;
  }

  /** Removes the device's secret: it can no longer connect (used when a device is retired). */
  async revoke(deviceId: string): Promise<void> {
    await this.#redis.hdel(this.#key, deviceId);
    this.#log?.info({ device: deviceId }, 'device secret revoked');
  }

  #hash(secret: string): Promise<string> {
    return this.#secretKey
      ? Promise.resolve(hashSecretKeyed(secret, this.#secretKey))
      : hashSecret(secret, this.#params);
  }

  /** The login already succeeded; a failed rewrite only means the next login migrates instead. */
  async #migrate(deviceId: string, stored: string, next: string): Promise<void> {
    try {
      const res = await this.#redis.eval(SWAP_IF_UNCHANGED, 1, this.#key, deviceId, stored, next);
      if (res !== -1) {
        this.stats.migrated++;
        this.#log?.debug({ device: deviceId }, 'device secret hash migrated to the keyed form');
      }
    } catch (err) {
      this.#log?.warn(
        { device: deviceId, err: (err as Error).message },
        'device secret hash migration failed',
      );
    }
  }

  #noteForeignKey(deviceId: string, stored: string): void {
    const kid = hashKeyId(stored);
    if (kid === undefined || kid === this.#secretKey?.id) return;
    this.stats.foreignKey++;
    // Once per power of two: a fleet refused for a wrong key file is one problem, not thousands of lines.
    const n = this.stats.foreignKey;
    if ((n & (n - 1)) === 0) {
      this.#log?.error(
        { device: deviceId, storedKeyId: kid, keyId: this.#secretKey?.id, count: n },
        'device secret was hashed under another key than mqtt.auth.secretKeyFile holds; restore the right key file',
      );
    }
  }
}
