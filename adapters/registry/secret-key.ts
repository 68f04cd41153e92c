import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import { type SecretKey, secretKey } from './secret-hash.js';

/**
 * The server-side key of device-secret hashes (see secret-hash.ts) lives in a file of its own
 * (config mqtt.auth.secretKeyFile), generated on first start with mode 0600. A file, not a config
 * value: the config file is shown (`gridgate config show`), copied and often versioned, while a key
 * file is one thing to protect and back up, and is what container secret mounts provide. Never in
 * Redis: the point of the key is that a Redis dump alone cannot check a guessed secret.
 *
 * Redis does hold the key's id (`<prefix>credentials:keyid`, a fingerprint, not the key). A gateway
 * whose key file has gone missing would otherwise make a new key and silently refuse every device;
 * with the id there it refuses to start instead and says what to do.
 */
export interface LoadSecretKeyOptions {
  file: string;
  redis: Redis;
  prefix: string;
  logger: Logger;
}

const KEY_BYTES = 32;

export async function loadSecretKey(opts: LoadSecretKeyOptions): Promise<SecretKey> {
  const log = opts.logger.child({ component: 'credentials' });
  const marker = `${opts.prefix}credentials:keyid`;
  const recorded = await opts.redis.get(marker);
  let key = await readKey(opts.file);
  if (!key) {
    if (recorded !== null) {
      throw new GridgateError(
        'GG_ERR_CONFIG_INVALID',
        `device secret key file ${opts.file} is missing, but Redis holds device secrets hashed under key ${recorded}`,
        [
          'restore the file from backup (or point mqtt.auth.secretKeyFile at it); a new key would refuse every device',
          `to start over instead: delete the Redis key ${marker} and issue every device a new secret`,
        ],
      );
    }
    key = secretKey(randomBytes(KEY_BYTES));
    await mkdir(dirname(opts.file), { recursive: true, mode: 0o700 });
    // 'wx': never overwrite a key another gateway process wrote a moment ago.
    await writeFile(opts.file, `${key.key.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' }).catch(
      async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
        key = await readKey(opts.file);
      },
    );
    if (!key) throw new GridgateError('GG_ERR_CONFIG_READ', `cannot read ${opts.file}`);
    log.warn(
      { file: opts.file, keyId: key.id },
      'device secret key generated; back this file up with Redis: without it, stored device secrets cannot be checked',
    );
  } else {
    const mode = (await stat(opts.file)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      log.warn(
        { file: opts.file, mode: mode.toString(8) },
        'device secret key file is readable by other users; chmod 600 it',
      );
    }
  }
  if (recorded === null) await opts.redis.set(marker, key.id);
  else if (recorded !== key.id) {
    log.error(
      { file: opts.file, keyId: key.id, storedKeyId: recorded },
      'device secret key file is not the key Redis was hashed under: devices with keyed hashes will be refused until the right file is restored',
    );
  }
  return key;
}

async function readKey(file: string): Promise<SecretKey | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GridgateError('GG_ERR_CONFIG_READ', `cannot read device secret key file ${file}`, [
      (err as Error).message,
    ]);
  }
  const raw = Buffer.from(text.trim(), 'base64url');
  if (raw.length < KEY_BYTES) {
    throw new GridgateError(
      'GG_ERR_CONFIG_INVALID',
      `device secret key file ${file} does not hold a ${KEY_BYTES}-byte base64url key`,
      ['restore it from backup; generate a new one only together with new secrets for every device'],
    );
  }
  return secretKey(raw);
}
