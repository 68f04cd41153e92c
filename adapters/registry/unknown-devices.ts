import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type Clock, systemClock, type Transport } from '../../processors/types.js';

/** An unregistered client id (MQTT) or MN (HJ 212) that tried to connect or send. */
export interface UnknownDevice {
  transport: Transport;
  /** MQTT client id, or HJ 212 MN. */
  id: string;
  topic?: string;
  remote?: string;
  /** Epoch ms. */
  firstSeen: number;
  lastSeen: number;
  count: number;
}

export type UnknownSighting = Pick<UnknownDevice, 'transport' | 'id' | 'topic' | 'remote'>;

export interface UnknownDevicesOptions {
  redis: Redis;
  prefix?: string;
  /** Most entries kept; the least recently seen go first. */
  maxEntries?: number;
  /** Distinct ids held in memory between flushes; more are dropped (and counted) until the next flush. */
  maxPending?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Pending extends UnknownSighting {
  first: number;
  last: number;
  count: number;
}

/** Attacker-chosen strings are cut before they are stored. */
const MAX_ID = 128;
const MAX_TOPIC = 256;
/** An entry not seen for this long disappears. */
const TTL_S = 7 * 86_400;
/** Sightings are coalesced in memory and written at most this often. */
const FLUSH_MS = 1000;

/**
 * Who is knocking: unregistered devices that try to connect or send, so an
 * installer can register them from `gridgate devices unknown`. `record` is synchronous and cheap
 * (a flooding stranger costs one Map update per message); Redis sees one write per id per flush.
 * Bounded three ways: pending ids in memory, entries in Redis, and a TTL per entry.
 */
export class UnknownDevices {
  readonly #redis: Redis;
  /** The index (a sorted set by last seen) and the prefix of each entry's hash. */
  readonly #key: string;
  readonly #max: number;
  readonly #maxPending: number;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  #pending = new Map<string, Pending>();
  #timer: NodeJS.Timeout | undefined;
  #dropped = 0;

  constructor(opts: UnknownDevicesOptions) {
    this.#redis = opts.redis;
    this.#key = `${opts.prefix ?? 'gridgate:'}unknown`;
    this.#max = opts.maxEntries ?? 1000;
    this.#maxPending = opts.maxPending ?? 1000;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger?.child({ component: 'unknown-devices' });
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      this.flush().catch((err: unknown) => this.#log?.warn({ err }, 'unknown-device flush failed'));
    }, FLUSH_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** Sightings dropped because too many distinct ids arrived between flushes. */
  get dropped(): number {
    return this.#dropped;
  }

  record(s: UnknownSighting): void {
    const id = s.id.slice(0, MAX_ID);
    const topic = s.topic?.slice(0, MAX_TOPIC);
    const member = `${s.transport}:${id}`;
    const now = this.#clock.now();
    const p = this.#pending.get(member);
    if (p) {
      p.last = now;
      p.count++;
      if (topic !== undefined) p.topic = topic;
      if (s.remote !== undefined) p.remote = s.remote;
      return;
    }
    if (this.#pending.size >= this.#maxPending) {
      this.#dropped++;
      return;
    }
    this.#pending.set(member, { ...s, id, topic, first: now, last: now, count: 1 });
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const m = this.#redis.multi();
    for (const [member, p] of batch) {
      const key = `${this.#key}:${member}`;
      m.hsetnx(key, 'firstSeen', p.first);
      const fields: Record<string, string | number> = { transport: p.transport, id: p.id, lastSeen: p.last };
      if (p.topic !== undefined) fields.topic = p.topic;
      if (p.remote !== undefined) fields.remote = p.remote;
      m.hset(key, fields);
      m.hincrby(key, 'count', p.count);
      m.expire(key, TTL_S);
      m.zadd(this.#key, p.last, member);
    }
    m.zremrangebyscore(this.#key, '-inf', this.#clock.now() - TTL_S * 1000);
    await m.exec();
    const excess = (await this.#redis.zcard(this.#key)) - this.#max;
    if (excess > 0) {
      const gone = await this.#redis.zpopmin(this.#key, excess);
      const keys = gone.filter((_, i) => i % 2 === 0).map((member) => `${this.#key}:${member}`);
      if (keys.length > 0) await this.#redis.del(...keys);
    }
  }

  /** Most recently seen first. */
  async list(limit = 100): Promise<UnknownDevice[]> {
    const members = await this.#redis.zrevrange(this.#key, 0, limit - 1);
    const p = this.#redis.pipeline();
    for (const member of members) p.hgetall(`${this.#key}:${member}`);
    const res = (await p.exec()) ?? [];
    return res.flatMap(([err, h]) => {
      const f = h as Record<string, string> | null;
      if (err || !f || f.id === undefined) return []; // expired since it was indexed
      return [
        {
          transport: f.transport as Transport,
          id: f.id,
          topic: f.topic,
          remote: f.remote,
          firstSeen: Number(f.firstSeen),
          lastSeen: Number(f.lastSeen),
          count: Number(f.count),
        },
      ];
    });
  }

  /** Drops an entry, e.g. once the installer has registered the device. */
  async forget(transport: Transport, id: string): Promise<void> {
    const member = `${transport}:${id}`;
    this.#pending.delete(member);
    await this.#redis.multi().zrem(this.#key, member).del(`${this.#key}:${member}`).exec();
  }
}
