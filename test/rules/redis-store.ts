import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';
import { RedisIncidentStore } from '../../adapters/redis/incident-store.js';

/**
 * The suite's Redis for one test file, and fresh key prefixes (incident stores under them); their keys
 * and the connection go after the file's tests.
 */
export function redisStores(tag: string): { redis: Redis; prefix(): string; store(): RedisIncidentStore } {
  const redis = new Redis(inject('redisUrl'));
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });
  const prefix = () => {
    const p = `gg-test-${tag}-${randomUUID()}:`;
    prefixes.push(p);
    return p;
  };
  return { redis, prefix, store: () => new RedisIncidentStore(redis, { prefix: prefix() }) };
}
