import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { knownModels } from './fixtures.js';

/**
 * Registries on the suite's Redis, each under a fresh key prefix; after the file they are stopped
 * and their keys removed, so test files never share state.
 */
export function redisRegistries() {
  let redis: Redis | undefined;
  const prefixes: string[] = [];
  const registries: RedisRegistry[] = [];
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    await Promise.all(registries.map((r) => r.stop()));
    for (const p of prefixes) {
      const keys = await client().keys(`${p}*`);
      if (keys.length > 0) await client().del(...keys);
    }
    await client().quit();
  });
  const client = (): Redis => {
    if (!redis) throw new Error('redisRegistries: used outside a test');
    return redis;
  };
  const newPrefix = (): string => {
    const p = `gg-test:${randomUUID()}:`;
    prefixes.push(p);
    return p;
  };
  const open = async (prefix = newPrefix()): Promise<RedisRegistry> => {
    const reg = new RedisRegistry({ redis: client(), prefix, knownModels });
    registries.push(reg);
    await reg.start();
    return reg;
  };
  return { redis: client, newPrefix, open, lastPrefix: () => prefixes.at(-1) };
}
