import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import type { Incident } from '../../processors/rules/incident.js';
import {
  type HeldEvent,
  heldInOrder,
  type IncidentChanges,
  type IncidentSnapshot,
  type IncidentStore,
} from '../../processors/rules/store.js';
import { UnsavedIncidents } from './unsaved-incidents.js';

/** Connection states in which a command would only wait in ioredis's queue for a Redis that is gone. */
const LOST = new Set(['reconnecting', 'close', 'end']);

/**
 * Incident state in Redis: one hash of incidents (key -> JSON), one of devices' last-seen times, one
 * of window state (device -> JSON) for devices with open incidents, and one of held alert events
 * (event id -> JSON) not yet taken by their sink. Each engine flush is one MULTI: a crash never
 * half-applies it, so a held event and the incident state it follows from are saved together.
 *
 * A save's MULTI is written to the connection before save() returns (nothing is awaited before it):
 * the alert dispatcher shares the connection (gateway/alerting.ts), so Redis applies an event's
 * state before the event's job.
 *
 * With `unsavedFile`, what Redis does not take is kept on local disk (unsaved-incidents.ts), and a
 * save while the connection is lost fails at once after writing it: the engine holds alert events
 * until their state is saved, and during an outage that local file is where it is saved.
 */
export class RedisIncidentStore implements IncidentStore {
  private readonly incidentsKey: string;
  private readonly seenKey: string;
  private readonly windowsKey: string;
  private readonly heldKey: string;
  private readonly unsaved: UnsavedIncidents | undefined;

  constructor(
    private readonly redis: Redis,
    opts: { prefix?: string; unsavedFile?: string; logger?: Logger } = {},
  ) {
    const prefix = opts.prefix ?? 'gridgate:';
    this.incidentsKey = `${prefix}rules:incidents`;
    this.seenKey = `${prefix}rules:lastseen`;
    this.windowsKey = `${prefix}rules:windows`;
    this.heldKey = `${prefix}rules:held`;
    this.unsaved = opts.unsavedFile ? new UnsavedIncidents(opts.unsavedFile, opts.logger) : undefined;
  }

  async load(): Promise<IncidentSnapshot> {
    // What an earlier run could not save is newer than what Redis has: Redis takes it first.
    const left = this.unsaved?.changes();
    if (left) {
      await this.write(left);
      this.unsaved?.clear();
    }
    const [incidents, seen, windows, held] = await Promise.all([
      this.redis.hgetall(this.incidentsKey),
      this.redis.hgetall(this.seenKey),
      this.redis.hgetall(this.windowsKey),
      this.redis.hgetall(this.heldKey),
    ]);
    const snap: IncidentSnapshot = {
      incidents: Object.values(incidents).map((s) => JSON.parse(s) as Incident),
      lastSeen: Object.fromEntries(Object.entries(seen).map(([d, at]) => [d, Number(at)])),
      windows: Object.fromEntries(Object.entries(windows).map(([d, s]) => [d, JSON.parse(s)])),
    };
    const events = Object.values(held);
    if (events.length > 0) snap.held = heldInOrder(events.map((s) => JSON.parse(s) as HeldEvent));
    return snap;
  }

  async save(c: IncidentChanges): Promise<void> {
    if (LOST.has(this.redis.status)) {
      this.unsaved?.keep(c);
      throw new GridgateError(
        'GG_ERR_REDIS_CONNECT',
        'Redis is unreachable: incident state not saved there, retried at the next flush',
        this.unsaved ? ['kept meanwhile in the unsaved incident state file'] : [],
      );
    }
    try {
      await this.write(c);
    } catch (err) {
      this.unsaved?.keep(c);
      throw err;
    }
    this.unsaved?.clear();
  }

  private async write(c: IncidentChanges): Promise<void> {
    const w = c.windows;
    const h = c.held;
    if (
      !c.put.length &&
      !c.remove.length &&
      !c.lastSeen.length &&
      !w?.put.length &&
      !w?.remove.length &&
      !h?.put.length &&
      !h?.remove.length
    )
      return;
    const tx = this.redis.multi();
    if (c.put.length) tx.hset(this.incidentsKey, ...c.put.flatMap((i) => [i.key, JSON.stringify(i)]));
    if (c.remove.length) tx.hdel(this.incidentsKey, ...c.remove);
    if (c.lastSeen.length) tx.hset(this.seenKey, ...c.lastSeen.flatMap(([d, at]) => [d, String(at)]));
    if (w?.put.length) tx.hset(this.windowsKey, ...w.put.flatMap(([d, s]) => [d, JSON.stringify(s)]));
    if (w?.remove.length) tx.hdel(this.windowsKey, ...w.remove);
    if (h?.put.length) tx.hset(this.heldKey, ...h.put.flatMap((e) => [e.event.id, JSON.stringify(e)]));
    if (h?.remove.length) tx.hdel(this.heldKey, ...h.remove);
    const replies = await tx.exec();
    // A command refused inside MULTI (wrong key type...) does not reject exec(): it must not pass for saved.
    const failed = replies?.find(([err]) => err !== null)?.[0];
    if (failed) throw failed;
  }

  /** Remove everything this store wrote (tests, decommissioning). */
  async clear(): Promise<void> {
    await this.redis.del(this.incidentsKey, this.seenKey, this.windowsKey, this.heldKey);
    this.unsaved?.clear();
  }
}
