import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  type DeviceInput,
  type DeviceRecord,
  type KnownModels,
  validateDevice,
} from '../../config/device-schema.js';
import { GridgateError } from '../../processors/errors.js';
import { DeviceIndex } from '../../processors/registry/device-index.js';
import { mergePatch } from '../../processors/registry/patch.js';
import { auditJson, keepUnexported, sameContent, stamp } from '../../processors/registry/records.js';
import type {
  ChangeAction,
  DeviceChange,
  DevicePatch,
  DeviceRegistry,
  ImportResult,
  ImportRow,
  RowProblem,
} from '../../processors/registry/types.js';
import { RowsRejected, validateRows } from '../../processors/registry/validate.js';
import { type Clock, systemClock } from '../../processors/types.js';
import { COMMIT_SCRIPT } from './commit-script.js';

export interface RedisRegistryOptions {
  /** Command connection; may be shared with other components. */
  redis: Redis;
  /** Key prefix, e.g. `gridgate:`. Every key and the change channel live under it. */
  prefix?: string;
  knownModels: KnownModels;
  logger?: Logger;
  /** Approximate cap of the audit stream (XADD MAXLEN ~). */
  auditMaxLen?: number;
  clock?: Clock;
}

interface Pending {
  id: string;
  /** The exact JSON read from Redis ('' when absent): the compare-and-set token. */
  expected: string;
  before: DeviceRecord | null;
  after: DeviceRecord;
}

/** Compare-and-set retries before a write gives up; each waits a little longer, with jitter. */
const MAX_RETRIES = 10;
/** Devices per Lua commit in a bulk import. */
const IMPORT_CHUNK = 2000;

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, (attempt + 1) * (5 + Math.random() * 20)));
}

/**
 * The device registry in Redis (durable with AOF), served from memory.
 *
 * Keys under the prefix: `devices` (hash id -> device JSON), `devices:mn` (hash HJ 212 MN -> id),
 * `devices:version` (counter), `devices:audit` (stream of every change, secrets redacted).
 * Every write publishes `<version> <ids JSON>` on `devices:changes`; each instance re-reads those
 * ids, and reloads everything when it sees a version gap (pub/sub is at-most-once) or its
 * subscriber reconnects, so instances sharing one registry converge.
 */
export class RedisRegistry extends DeviceIndex implements DeviceRegistry {
  readonly #redis: Redis;
  #sub: Redis | undefined;
  readonly #keys: { devices: string; mn: string; version: string; audit: string; channel: string };
  readonly #knownModels: KnownModels;
  readonly #log: Logger | undefined;
  readonly #auditMaxLen: number;
  readonly #clock: Clock;
  #version = 0;
  /** Serializes loads and applied changes so they land in order. */
  #chain: Promise<void> = Promise.resolve();
  readonly #listeners = new Set<(ids: readonly string[]) => void>();

  constructor(opts: RedisRegistryOptions) {
    super();
    this.#redis = opts.redis;
    const p = opts.prefix ?? 'gridgate:';
    this.#keys = {
      devices: `${p}devices`,
      mn: `${p}devices:mn`,
      version: `${p}devices:version`,
      audit: `${p}devices:audit`,
      channel: `${p}devices:changes`,
    };
    this.#knownModels = opts.knownModels;
    this.#log = opts.logger?.child({ component: 'registry' });
    this.#auditMaxLen = opts.auditMaxLen ?? 100_000;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Subscribes to changes, then loads every device. Resolves when the map is complete. */
  async start(): Promise<void> {
    const sub = this.#redis.duplicate();
    this.#sub = sub;
    let first = true;
    sub.on('ready', () => {
      // ioredis re-subscribes after a reconnect; whatever was published meanwhile is lost, so reload.
      if (!first) this.#enqueue(() => this.#loadAll());
      first = false;
    });
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.#keys.channel) this.#enqueue(() => this.#applyMessage(message));
    });
    sub.on('error', (err: Error) => this.#log?.warn({ err }, 'registry subscriber error'));
    await sub.subscribe(this.#keys.channel);
    this.#enqueue(() => this.#loadAll());
    await this.#chain;
  }

  async stop(): Promise<void> {
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub) {
      sub.removeAllListeners('message');
      sub.removeAllListeners('ready');
      await sub.quit().catch(() => sub.disconnect());
    }
    await this.#chain;
  }

  /** Called with the ids of every change this instance applies (its own and other instances'). */
  onChange(listener: (ids: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The version of the registry this instance has applied. */
  get version(): number {
    return this.#version;
  }

  async add(input: DeviceInput, by: string): Promise<DeviceRecord> {
    const device = this.#validate(input);
    const raw = await this.#redis.hget(this.#keys.devices, device.id);
    if (raw !== null) {
      throw new GridgateError(
        'GG_ERR_BAD_REQUEST',
        `device '${device.id}' already exists; use update (gridgate devices set) to change it`,
      );
    }
    const after = stamp(device, null, by, this.#now());
    await this.#commit('add', [{ id: device.id, expected: '', before: null, after }], by);
    return after;
  }

  async update(id: string, patch: DevicePatch, by: string): Promise<DeviceRecord> {
    if ('id' in patch && patch.id !== id)
      throw new GridgateError('GG_ERR_BAD_REQUEST', 'a device id cannot change');
    return this.#modify(id, by, 'update', (before) => {
      const merged = mergePatch(before, patch) as Record<string, unknown>;
      // A new model brings its own family unless the patch names one.
      if ('model' in patch && !('family' in patch)) delete merged.family;
      return this.#validate(merged);
    });
  }

  async retire(id: string, by: string): Promise<DeviceRecord> {
    return this.#modify(id, by, 'retire', (before) => ({ ...before, state: 'retired' }));
  }

  async importRows(rows: readonly ImportRow[], by: string, source = 'import'): Promise<ImportResult> {
    const { devices, problems } = validateRows(rows, this.#knownModels);
    if (problems.length > 0) throw new RowsRejected(problems, source);
    // Every row is valid before anything is written. The write goes in chunks: one Lua call with
    // 100,000 devices would overflow argument lists (and block Redis for its whole run). A chunk
    // that fails leaves the earlier ones imported; importing the same file again completes it and
    // changes nothing that is already there.
    const taken = await this.#mnConflicts(devices, rows);
    if (taken.length > 0) throw new RowsRejected(taken, source);
    const result: ImportResult = { created: 0, updated: 0, unchanged: 0 };
    for (let start = 0; start < devices.length; start += IMPORT_CHUNK) {
      let r: ImportResult;
      try {
        r = await this.#importChunk(
          devices.slice(start, start + IMPORT_CHUNK),
          rows.slice(start, start + IMPORT_CHUNK),
          by,
        );
      } catch (err) {
        if (start === 0) throw err;
        throw new GridgateError(
          'GG_ERR_CONFLICT',
          `${source}: the first ${start} of ${devices.length} devices were imported, then: ${(err as Error).message}`,
          ['importing the same file again completes it (rows already imported are unchanged)'],
          { cause: err },
        );
      }
      result.created += r.created;
      result.updated += r.updated;
      result.unchanged += r.unchanged;
    }
    return result;
  }

  /** Rows whose HJ 212 MN already belongs to another device (moving an MN between devices takes two imports). */
  async #mnConflicts(devices: readonly DeviceRecord[], rows: readonly ImportRow[]): Promise<RowProblem[]> {
    const withMn = devices.map((d, i) => ({ d, i, mn: d.hj212?.mn })).filter((x) => x.mn !== undefined);
    if (withMn.length === 0) return [];
    const problems: RowProblem[] = [];
    for (let k = 0; k < withMn.length; k += IMPORT_CHUNK) {
      const part = withMn.slice(k, k + IMPORT_CHUNK);
      const owners = await this.#redis.hmget(this.#keys.mn, ...part.map((x) => x.mn as string));
      part.forEach((x, j) => {
        const owner = owners[j];
        if (!owner || owner === x.d.id) return;
        const line = rows[x.i]?.line ?? 0;
        problems.push({
          line,
          id: x.d.id,
          problems: [{ line, message: `hj212.mn: MN '${x.mn}' already belongs to device '${owner}'` }],
        });
      });
    }
    return problems;
  }

  async #importChunk(
    devices: readonly DeviceRecord[],
    rows: readonly ImportRow[],
    by: string,
  ): Promise<ImportResult> {
    for (let attempt = 0; ; attempt++) {
      const raws =
        devices.length === 0 ? [] : await this.#redis.hmget(this.#keys.devices, ...devices.map((d) => d.id));
      const at = this.#now();
      const pending: Pending[] = [];
      const result: ImportResult = { created: 0, updated: 0, unchanged: 0 };
      devices.forEach((d, i) => {
        const expected = raws[i] ?? '';
        const before = expected === '' ? null : (JSON.parse(expected) as DeviceRecord);
        const next = keepUnexported(d, rows[i]?.input, before);
        if (before && sameContent(before, next)) {
          result.unchanged++;
          return;
        }
        if (before) result.updated++;
        else result.created++;
        pending.push({ id: d.id, expected, before, after: stamp(next, before, by, at) });
      });
      if (pending.length === 0) return result;
      try {
        await this.#commit('import', pending, by);
        return result;
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_RETRIES) throw err;
        await backoff(attempt);
      }
    }
  }

  export(): DeviceRecord[] {
    return this.list();
  }

  async audit(opts: { id?: string; count?: number } = {}): Promise<DeviceChange[]> {
    const want = opts.count ?? 100;
    const out: DeviceChange[] = [];
    let end = '+';
    // Walk back through the stream in pages until enough entries for the id are found.
    for (let page = 0; page < 100 && out.length < want; page++) {
      const entries = await this.#redis.xrevrange(this.#keys.audit, end, '-', 'COUNT', 500);
      for (const [, fields] of entries) {
        const f = fieldsOf(fields);
        if (opts.id !== undefined && f.id !== opts.id) continue;
        out.push({
          action: f.action as ChangeAction,
          id: f.id ?? '',
          by: f.by ?? '',
          at: f.at ?? '',
          before: f.before ? (JSON.parse(f.before) as DeviceRecord) : null,
          after: f.after ? (JSON.parse(f.after) as DeviceRecord) : null,
        });
        if (out.length >= want) break;
      }
      const last = entries[entries.length - 1];
      if (entries.length < 500 || !last) break;
      end = `(${last[0]}`;
    }
    return out;
  }

  async #modify(
    id: string,
    by: string,
    action: ChangeAction,
    change: (before: DeviceRecord) => DeviceRecord,
  ): Promise<DeviceRecord> {
    for (let attempt = 0; ; attempt++) {
      const expected = await this.#redis.hget(this.#keys.devices, id);
      if (expected === null) throw new GridgateError('GG_ERR_NOT_FOUND', `no device '${id}'`);
      const before = JSON.parse(expected) as DeviceRecord;
      const after = stamp(change(before), before, by, this.#now());
      try {
        await this.#commit(action, [{ id, expected, before, after }], by);
        return after;
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_RETRIES) throw err;
        await backoff(attempt);
      }
    }
  }

  async #commit(action: ChangeAction, pending: readonly Pending[], by: string): Promise<void> {
    const args: (string | number)[] = [
      this.#keys.channel,
      this.#auditMaxLen,
      by,
      this.#now(),
      action,
      JSON.stringify(pending.map((p) => p.id)),
      pending.length,
    ];
    for (const p of pending) {
      args.push(
        p.id,
        p.expected,
        JSON.stringify(p.after),
        p.before?.hj212?.mn ?? '',
        p.after.hj212?.mn ?? '',
        auditJson(p.before),
        auditJson(p.after),
      );
    }
    try {
      await this.#redis.eval(
        COMMIT_SCRIPT,
        4,
        this.#keys.devices,
        this.#keys.mn,
        this.#keys.audit,
        this.#keys.version,
        ...args,
      );
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      const taken = /MNTAKEN (\S+) (\S+)/.exec(msg);
      if (taken) {
        throw new GridgateError(
          'GG_ERR_BAD_REQUEST',
          `HJ 212 MN '${taken[1]}' already belongs to device '${taken[2]}'`,
        );
      }
      throw err;
    }
    // Apply locally at once, so a caller reads its own write; the published change re-applies it.
    for (const p of pending) this.set(p.after);
    this.#notify(pending.map((p) => p.id));
    this.#log?.info(
      { action, by, ids: pending.length === 1 ? pending[0]?.id : pending.length },
      'registry change',
    );
  }

  #validate(input: unknown): DeviceRecord {
    const r = validateDevice(input, this.#knownModels);
    if (r.ok) return r.device;
    const details = r.issues.map((i) => `${i.path.join('.') || '(device)'}: ${i.message}`);
    throw new GridgateError('GG_ERR_DEVICES_INVALID', `invalid device: ${details.join('; ')}`, details);
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((err: unknown) => {
      this.#log?.error({ err }, 'registry sync failed; reloading on the next change');
      this.#version = -1; // forces a full reload on the next message
    });
  }

  async #loadAll(): Promise<void> {
    // The version is read first: a change committed during the scan has a later version, and its
    // message re-reads the changed devices. HSCAN in pages keeps start-up memory flat (one HGETALL
    // of 100,000 devices holds every JSON string at once).
    const version = Number((await this.#redis.get(this.#keys.version)) ?? 0);
    const devices: DeviceRecord[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscan(this.#keys.devices, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        try {
          devices.push(JSON.parse(flat[i + 1] as string) as DeviceRecord);
        } catch (err) {
          this.#log?.error({ err, device: flat[i] }, 'stored device is not valid JSON; skipped');
        }
      }
    } while (cursor !== '0');
    this.replaceAll(devices);
    this.#version = version;
    this.#log?.info({ devices: this.size, version }, 'registry loaded');
    this.#notify(devices.map((d) => d.id));
  }

  async #applyMessage(message: string): Promise<void> {
    const sp = message.indexOf(' ');
    const v = Number(message.slice(0, sp));
    if (!Number.isInteger(v) || v <= this.#version) return;
    if (v !== this.#version + 1) return this.#loadAll();
    const ids = JSON.parse(message.slice(sp + 1)) as string[];
    const raws = ids.length === 0 ? [] : await this.#redis.hmget(this.#keys.devices, ...ids);
    ids.forEach((id, i) => {
      const raw = raws[i];
      if (raw === null || raw === undefined) this.delete(id);
      else this.set(JSON.parse(raw) as DeviceRecord);
    });
    this.#version = v;
    this.#notify(ids);
  }

  #notify(ids: readonly string[]): void {
    for (const l of this.#listeners) {
      try {
        l(ids);
      } catch (err) {
        this.#log?.error({ err }, 'registry change listener failed');
      }
    }
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

function isConflict(err: unknown): boolean {
  return err instanceof Error && err.message.includes('CONFLICT');
}

function fieldsOf(flat: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}
