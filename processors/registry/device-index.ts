import type { DeviceRecord } from './device-schema.js';
import { filterDevices } from './filter.js';
import type { DeviceFilter, DeviceReader } from './types.js';

/**
 * The in-memory map every registry serves the hot path from: `get` is one Map lookup.
 * Stored records are frozen so a caller cannot change the registry by mutating what it got.
 */
export class DeviceIndex implements DeviceReader {
  readonly #byId = new Map<string, DeviceRecord>();
  readonly #byMn = new Map<string, string>();
  /** One copy of each repeated string (models, places, addresses, label values). */
  readonly #strings = new Map<string, string>();

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): DeviceRecord | undefined {
    return this.#byId.get(id);
  }

  byHj212Mn(mn: string): DeviceRecord | undefined {
    const id = this.#byMn.get(mn);
    return id === undefined ? undefined : this.#byId.get(id);
  }

  list(filter?: DeviceFilter): DeviceRecord[] {
    return filterDevices(this.#byId.values(), filter);
  }

  values(): IterableIterator<DeviceRecord> {
    return this.#byId.values();
  }

  set(d: DeviceRecord): void {
    this.delete(d.id);
    const frozen = deepFreeze(this.#compact(structuredClone(d)));
    this.#byId.set(d.id, frozen);
    if (d.hj212) this.#byMn.set(d.hj212.mn, d.id);
  }

  delete(id: string): void {
    const old = this.#byId.get(id);
    if (!old) return;
    this.#byId.delete(id);
    if (old.hj212 && this.#byMn.get(old.hj212.mn) === id) this.#byMn.delete(old.hj212.mn);
  }

  #compact(d: DeviceRecord): DeviceRecord {
    return compactRecord(d, this.#strings);
  }

  /** Takes ownership of the records (freshly parsed by the caller): frozen in place, not copied. */
  replaceAll(devices: Iterable<DeviceRecord>): void {
    this.#byId.clear();
    this.#byMn.clear();
    for (const d of devices) {
      const frozen = deepFreeze(this.#compact(d));
      this.#byId.set(d.id, frozen);
      if (d.hj212) this.#byMn.set(d.hj212.mn, d.id);
    }
  }
}

const NO_CAMERAS: string[] = Object.freeze([]) as unknown as string[];
const NO_ENTRIES = Object.freeze({});

/**
 * Share what thousands of records repeat: one string per model, place, address and label value,
 * and one empty object or array where a record has none. A parsed record holds its own copy of
 * every string; at 100,000 devices this takes the registry from ~410 to ~260 bytes per device.
 */
function compactRecord(d: DeviceRecord, pool: Map<string, string>): DeviceRecord {
  const s = (v: string): string => {
    const have = pool.get(v);
    if (have !== undefined) return have;
    if (pool.size >= MAX_POOLED) pool.clear();
    pool.set(v, v);
    return v;
  };
  d.model = s(d.model);
  d.state = s(d.state) as DeviceRecord['state'];
  if (d.family !== undefined) d.family = s(d.family) as DeviceRecord['family'];
  if (d.address !== undefined) d.address = s(d.address);
  const loc = d.location as Record<string, string>;
  for (const k in loc) loc[k] = s(loc[k] as string);
  if (d.cameras.length === 0) d.cameras = NO_CAMERAS;
  if (isEmpty(d.attrs)) d.attrs = NO_ENTRIES;
  if (isEmpty(d.labels)) d.labels = NO_ENTRIES;
  else for (const k in d.labels) d.labels[k] = s(d.labels[k] as string);
  return d;
}
const MAX_POOLED = 100_000;

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
