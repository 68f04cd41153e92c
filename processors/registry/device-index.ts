import type { DeviceRecord } from '../../config/device-schema.js';
import { filterDevices } from './filter.js';
import type { DeviceFilter, DeviceReader } from './types.js';

/**
 * The in-memory map every registry serves the hot path from: `get` is one Map lookup.
 * Stored records are frozen so a caller cannot change the registry by mutating what it got.
 */
export class DeviceIndex implements DeviceReader {
  readonly #byId = new Map<string, DeviceRecord>();
  readonly #byMn = new Map<string, string>();

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
    const frozen = deepFreeze(structuredClone(d));
    this.#byId.set(d.id, frozen);
    if (d.hj212) this.#byMn.set(d.hj212.mn, d.id);
  }

  delete(id: string): void {
    const old = this.#byId.get(id);
    if (!old) return;
    this.#byId.delete(id);
    if (old.hj212 && this.#byMn.get(old.hj212.mn) === id) this.#byMn.delete(old.hj212.mn);
  }

  /** Takes ownership of the records (freshly parsed by the caller): frozen in place, not copied. */
  replaceAll(devices: Iterable<DeviceRecord>): void {
    this.#byId.clear();
    this.#byMn.clear();
    for (const d of devices) {
      const frozen = deepFreeze(d);
      this.#byId.set(d.id, frozen);
      if (d.hj212) this.#byMn.set(d.hj212.mn, d.id);
    }
  }
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
