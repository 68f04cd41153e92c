import type { Redis } from 'ioredis';
import type { Incident } from '../../processors/rules/incident.js';
import type { IncidentChanges, IncidentSnapshot, IncidentStore } from '../../processors/rules/store.js';

/**
 * Incident state in Redis: one hash of incidents (key -> JSON), one of devices' last-seen times and
 * one of window state (device -> JSON) for devices with open incidents. Each engine flush is one pipelined round trip (MULTI, so a crash never half-applies it).
 */
export class RedisIncidentStore implements IncidentStore {
  private readonly incidentsKey: string;
  private readonly seenKey: string;
  private readonly windowsKey: string;

  constructor(
    private readonly redis: Redis,
    opts: { prefix?: string } = {},
  ) {
    const prefix = opts.prefix ?? 'gridgate:';
    this.incidentsKey = `${prefix}rules:incidents`;
    this.seenKey = `${prefix}rules:lastseen`;
    this.windowsKey = `${prefix}rules:windows`;
  }

  async load(): Promise<IncidentSnapshot> {
    const [incidents, seen, windows] = await Promise.all([
      this.redis.hgetall(this.incidentsKey),
      this.redis.hgetall(this.seenKey),
      this.redis.hgetall(this.windowsKey),
    ]);
    return {
      incidents: Object.values(incidents).map((s) => JSON.parse(s) as Incident),
      lastSeen: Object.fromEntries(Object.entries(seen).map(([d, at]) => [d, Number(at)])),
      windows: Object.fromEntries(Object.entries(windows).map(([d, s]) => [d, JSON.parse(s)])),
    };
  }

  async save(c: IncidentChanges): Promise<void> {
    const w = c.windows;
    if (!c.put.length && !c.remove.length && !c.lastSeen.length && !w?.put.length && !w?.remove.length)
      return;
    const tx = this.redis.multi();
    if (c.put.length) tx.hset(this.incidentsKey, ...c.put.flatMap((i) => [i.key, JSON.stringify(i)]));
    if (c.remove.length) tx.hdel(this.incidentsKey, ...c.remove);
    if (c.lastSeen.length) tx.hset(this.seenKey, ...c.lastSeen.flatMap(([d, at]) => [d, String(at)]));
    if (w?.put.length) tx.hset(this.windowsKey, ...w.put.flatMap(([d, s]) => [d, JSON.stringify(s)]));
    if (w?.remove.length) tx.hdel(this.windowsKey, ...w.remove);
    await tx.exec();
  }

  /** Remove everything this store wrote (tests, decommissioning). */
  async clear(): Promise<void> {
    await this.redis.del(this.incidentsKey, this.seenKey, this.windowsKey);
  }
}
