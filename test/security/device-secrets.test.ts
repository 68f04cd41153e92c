import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CredentialStore } from '../../adapters/registry/credentials.js';
import {
  generateSecret,
  hashSecret,
  hashSecretKeyed,
  secretKey,
  verifySecret,
} from '../../adapters/registry/secret-hash.js';
import { loadSecretKey } from '../../adapters/registry/secret-key.js';
import {
  gauge,
  mosquitto,
  quiet,
  type SecuredBroker,
  type SecurityEnv,
  securedBroker,
  securityEnv,
  waitFor,
} from './support.js';

let env: SecurityEnv;
let sb: SecuredBroker;
let dir: string;

beforeAll(async () => {
  env = await securityEnv(inject('redisUrl'));
  sb = await securedBroker(env);
  dir = await mkdtemp(join(tmpdir(), 'gg-secret-key-'));
});
afterAll(async () => {
  await sb?.stop();
  await env?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const stored = (id: string) => env.redis.hget(`${env.prefix}credentials`, id);

describe('keyed hashes for device secrets', () => {
  it('are HMAC-SHA-256 under a key that is not in the stored string, and need that key to verify', async () => {
    const key = secretKey(randomBytes(32));
    const other = secretKey(randomBytes(32));
    const secret = generateSecret();
    const hash = hashSecretKeyed(secret, key);
    expect(hash).toMatch(/^hmac\$[\w-]{8}\$[\w-]{22}\$[\w-]{43}$/);
    expect(hash).not.toContain(key.key.toString('base64url'));
    expect(await verifySecret(secret, hash, key)).toBe(true);
    expect(await verifySecret(`${secret}x`, hash, key)).toBe(false);
    // What a stolen Redis dump gives: the hash without the key, or with a guessed key.
    expect(await verifySecret(secret, hash)).toBe(false);
    expect(await verifySecret(secret, hash, other)).toBe(false);
    expect(hashSecretKeyed(secret, key)).not.toBe(hash);
  });

  it('are what the store issues; a hash made under another key is refused and counted', async () => {
    await env.registry.add(gauge('ds-new'), 'test');
    const secret = await env.credentials.rotate('ds-new');
    expect(await stored('ds-new')).toMatch(/^hmac\$/);
    expect(await env.credentials.verify('ds-new', secret)).toBe(true);

    const elsewhere = new CredentialStore({
      redis: env.redis,
      prefix: env.prefix,
      secretKey: secretKey(randomBytes(32)),
      logger: quiet,
    });
    expect(await elsewhere.verify('ds-new', secret)).toBe(false);
    expect(elsewhere.stats.foreignKey).toBe(1);
  });
});

describe('lazy migration of scrypt device hashes', () => {
  it('admits a device stored in the old scrypt form (mosquitto_pub), rewrites its hash, and admits it again', async () => {
    const id = 'ds-old';
    const secret = generateSecret();
    await env.registry.add(gauge(id), 'test');
    // Exactly what earlier releases stored: scrypt with the default parameters.
    await env.redis.hset(`${env.prefix}credentials`, id, await hashSecret(secret));
    expect(await stored(id)).toMatch(/^scrypt\$16384\$8\$1\$/);
    const slowBefore = sb.auth.stats.slowChecks;

    const r = await mosquitto('mosquitto_pub', [
      '-p',
      String(sb.broker.port),
      '-i',
      id,
      '-u',
      id,
      '-P',
      secret,
      '-t',
      `devices/${id}/telemetry`,
      '-m',
      '{"ts":1767225600,"wl":1234}',
      '-q',
      '1',
    ]);
    expect(r.code).toBe(0);
    await waitFor('the reading', () => sb.received.some((m) => m.deviceId === id));
    expect(sb.auth.stats.slowChecks).toBe(slowBefore + 1);
    await waitFor('the migrated hash', () => env.credentials.stats.migrated >= 1);
    const migrated = await stored(id);
    expect(migrated).toMatch(/^hmac\$/);
    expect(migrated).not.toContain(secret);

    // The same secret still logs in, now without scrypt; a wrong one is still refused.
    const c = await connectAsync(`mqtt://127.0.0.1:${sb.broker.port}`, {
      clientId: id,
      username: id,
      password: secret,
      reconnectPeriod: 0,
    });
    expect(c.connected).toBe(true);
    await c.endAsync();
    expect(sb.auth.stats.slowChecks).toBe(slowBefore + 1);
    expect(await env.credentials.verify(id, `${secret}x`)).toBe(false);
    expect(await stored(id)).toBe(migrated);
  });

  it('does not overwrite a secret rotated while the old one was being checked', async () => {
    const id = 'ds-race';
    const old = generateSecret();
    await env.registry.add(gauge(id), 'test');
    await env.redis.hset(`${env.prefix}credentials`, id, await hashSecret(old, { N: 1024, r: 8, p: 1 }));
    const check = await env.credentials.check(id);
    expect(check.cost).toBe('slow');
    const fresh = await env.credentials.rotate(id);
    // The old secret matched the hash that was read, but the rotation happened in between.
    expect(await check.verify(old)).toBe(true);
    expect(await env.credentials.verify(id, fresh)).toBe(true);
    expect(await env.credentials.verify(id, old)).toBe(false);
  });
});

describe('the key file', () => {
  it('is generated once with mode 0600 and read back as the same key', async () => {
    const file = join(dir, 'a', 'mqtt-secret.key');
    const prefix = `${env.prefix}k1:`;
    const first = await loadSecretKey({ file, redis: env.redis, prefix, logger: quiet });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await env.redis.get(`${prefix}credentials:keyid`)).toBe(first.id);
    expect(await readFile(file, 'utf8')).not.toContain(first.id);
    const again = await loadSecretKey({ file, redis: env.redis, prefix, logger: quiet });
    expect(again.id).toBe(first.id);
    expect(again.key.equals(first.key)).toBe(true);
  });

  it('refuses to start when the file is gone but Redis holds hashes made under a key', async () => {
    const file = join(dir, 'b', 'mqtt-secret.key');
    const prefix = `${env.prefix}k2:`;
    await loadSecretKey({ file, redis: env.redis, prefix, logger: quiet });
    await rm(file);
    await expect(loadSecretKey({ file, redis: env.redis, prefix, logger: quiet })).rejects.toMatchObject({
      code: 'GG_ERR_CONFIG_INVALID',
      message: expect.stringMatching(/missing/),
    });
  });
});
