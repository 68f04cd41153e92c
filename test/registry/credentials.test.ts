import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CredentialStore } from '../../adapters/registry/credentials.js';
import { hashSecret, verifySecret } from '../../adapters/registry/secret-hash.js';
import { UnknownDevices } from '../../adapters/registry/unknown-devices.js';

let redis: Redis;
const prefix = `gg-test:${randomUUID()}:`;
// Cheap parameters keep the suite fast; one test runs the defaults.
const FAST = { N: 1024, r: 8, p: 1 };

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('secret hashing', () => {
  it('verifies the right secret and refuses a wrong or malformed one, with the default parameters', async () => {
    const stored = await hashSecret('s3cret');
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(await verifySecret('s3cret', stored)).toBe(true);
    expect(await verifySecret('s3cret!', stored)).toBe(false);
    expect(await verifySecret('s3cret', 'scrypt$x$8$1$aa$bb')).toBe(false);
    expect(await verifySecret('s3cret', 'plain')).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashSecret('same', FAST)).not.toBe(await hashSecret('same', FAST));
  });
});

describe('CredentialStore', () => {
  it('issues a secret once, stores only its hash, verifies it, and rotates it', async () => {
    const store = new CredentialStore({ redis, prefix, scrypt: FAST });
    const secret = await store.rotate('fg-1');
    expect(secret).toMatch(/^[\w-]{32}$/);
    const stored = await redis.hget(`${prefix}credentials`, 'fg-1');
    expect(stored).not.toBeNull();
    expect(stored).not.toContain(secret);
    expect(await store.verify('fg-1', secret)).toBe(true);
    expect(await store.verify('fg-1', `${secret}x`)).toBe(false);
    expect(await store.verify('fg-2', secret)).toBe(false);

    const next = await store.rotate('fg-1');
    expect(next).not.toBe(secret);
    expect(await store.verify('fg-1', secret)).toBe(false);
    expect(await store.verify('fg-1', next)).toBe(true);

    await store.revoke('fg-1');
    expect(await store.has('fg-1')).toBe(false);
    expect(await store.verify('fg-1', next)).toBe(false);
  });
});

describe('UnknownDevices', () => {
  it('coalesces sightings per id and lists them newest first', async () => {
    let now = 1_000_000;
    const p = `${prefix}u1:`;
    const unknown = new UnknownDevices({ redis, prefix: p, clock: { now: () => now } });
    unknown.record({
      transport: 'mqtt',
      id: 'stranger-1',
      topic: 'devices/stranger-1/telemetry',
      remote: '10.0.0.5',
    });
    now += 10;
    unknown.record({ transport: 'mqtt', id: 'stranger-1', topic: 'devices/stranger-1/status' });
    now += 10;
    unknown.record({ transport: 'hj212', id: 'MN123', remote: '10.0.0.9' });
    await unknown.flush();
    now += 1000;
    unknown.record({ transport: 'mqtt', id: 'stranger-1' });
    await unknown.flush();

    const list = await unknown.list();
    expect(list).toEqual([
      {
        transport: 'mqtt',
        id: 'stranger-1',
        topic: 'devices/stranger-1/status',
        remote: '10.0.0.5',
        firstSeen: 1_000_000,
        lastSeen: 1_001_020,
        count: 3,
      },
      {
        transport: 'hj212',
        id: 'MN123',
        remote: '10.0.0.9',
        firstSeen: 1_000_020,
        lastSeen: 1_000_020,
        count: 1,
      },
    ]);
    const ttl = await redis.ttl(`${p}unknown:mqtt:stranger-1`);
    expect(ttl).toBeGreaterThan(0);

    await unknown.forget('mqtt', 'stranger-1');
    expect((await unknown.list()).map((u) => u.id)).toEqual(['MN123']);
  });

  it('stays bounded: in memory between flushes and in Redis', async () => {
    let now = 2_000_000;
    const p = `${prefix}u2:`;
    const unknown = new UnknownDevices({
      redis,
      prefix: p,
      maxEntries: 5,
      maxPending: 8,
      clock: { now: () => now++ },
    });
    for (let i = 0; i < 20; i++) unknown.record({ transport: 'mqtt', id: `c${i}` });
    expect(unknown.dropped).toBe(12);
    await unknown.flush();
    const list = await unknown.list();
    expect(list.map((u) => u.id)).toEqual(['c7', 'c6', 'c5', 'c4', 'c3']);
    expect(await redis.keys(`${p}unknown:*`)).toHaveLength(5);
  });
});
