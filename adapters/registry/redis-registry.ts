import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import { DeviceIndex } from '../../processors/registry/device-index.js';
import {
  type DeviceInput,
  type DeviceRecord,
  type KnownModels,
  validateDevice,
} from '../../processors/registry/device-schema.js';
import { mergePatch } from '../../processors/registry/patch.js';
import { stamp } from '../../processors/registry/records.js';
import type {
  ChangeAction,
  DeviceChange,
  DevicePatch,
  DeviceRegistry,
  ImportResult,
  ImportRow,
} from '../../processors/registry/types.js';
import { readAudit } from './registry-audit.js';
import {
  commitChanges,
  type PendingChange,
  type RegistryKeys,
  registryKeys,
  retryOnConflict,
} from './registry-commit.js';
import { importDeviceRows } from './registry-import.js';

export interface RedisRegistryOptions {
  /** Command connection; may be shared with other components. */
  redis: Redis;
  /** Key prefix, e.g. `gridgate:`. Every key and the change channel live under it. */
  prefix?: string;
  knownModels: KnownModels;
  logger?: Logger;
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
  readonly #keys: RegistryKeys;
  readonly #knownModels: KnownModels;
  readonly #log: Logger | undefined;
  #version = 0;
  /** Serializes loads and applied changes so they land in order. */
  #chain: Promise<void> = Promise.resolve();
  readonly #listeners = new Set<(ids: readonly string[]) => void>();

  constructor(opts: RedisRegistryOptions) {
    super();
    this.#redis = opts.redis;
    this.#keys = registryKeys(opts.prefix ?? 'gridgate:');
    this.#knownModels = opts.knownModels;
    this.#log = opts.logger?.child({ component: 'registry' });
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

  importRows(rows: readonly ImportRow[], by: string, source = 'import'): Promise<ImportResult> {
    return importDeviceRows(
      {
        redis: this.#redis,
        keys: this.#keys,
        knownModels: this.#knownModels,
        now: () => this.#now(),
        commit: (action, pending, changedBy) => this.#commit(action, pending, changedBy),
      },
      rows,
      by,
      source,
    );
  }

  export(): DeviceRecord[] {
    return this.list();
  }

  audit(opts: { id?: string; count?: number } = {}): Promise<DeviceChange[]> {
    return readAudit(this.#redis, this.#keys.audit, opts);
  }

  #modify(
    id: string,
    by: string,
    action: ChangeAction,
    change: (before: DeviceRecord) => DeviceRecord,
  ): Promise<DeviceRecord> {
    return retryOnConflict(async () => {
      const expected = await this.#redis.hget(this.#keys.devices, id);
      if (expected === null) throw new GridgateError('GG_ERR_NOT_FOUND', `no device '${id}'`);
      const before = JSON.parse(expected) as DeviceRecord;
      const after = stamp(change(before), before, by, this.#now());
      await this.#commit(action, [{ id, expected, before, after }], by);
      return after;
    });
  }

  async #commit(action: ChangeAction, pending: readonly PendingChange[], by: string): Promise<void> {
    await commitChanges(this.#redis, this.#keys, { action, pending, by, at: this.#now() });
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
    // message re-reads the changed devices. HSCAN in pages keeps start-up memory flat, where one
    // HGETALL would hold every device's JSON at once.
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
    return new Date().toISOString();
  }
}
