import type { Redis } from 'ioredis';
import type { Silence, SilencePersistence } from '../../processors/rules/silences.js';

/** Silences in one Redis hash (id -> JSON), so they survive a restart. Expired ones are pruned on load. */
export class RedisSilencePersistence implements SilencePersistence {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    opts: { prefix?: string } = {},
  ) {
    this.key = `${opts.prefix ?? 'gridgate:'}rules:silences`;
  }

  async load(): Promise<Silence[]> {
    const all = Object.values(await this.redis.hgetall(this.key)).map((s) => JSON.parse(s) as Silence);
    const now = Date.now();
    const expired = all.filter((s) => s.endsAt <= now).map((s) => s.id);
    if (expired.length) await this.redis.hdel(this.key, ...expired);
    return all.filter((s) => s.endsAt > now);
  }

  async put(s: Silence): Promise<void> {
    await this.redis.hset(this.key, s.id, JSON.stringify(s));
  }

  async delete(id: string): Promise<void> {
    await this.redis.hdel(this.key, id);
  }
}
