import type { Device, Family, Reading, ReadingSink } from './types.js';

export interface LatestEntry {
  device: string;
  family: Family;
  model: string;
  /** Epoch ms of the newest reading, and when the gateway saw it. */
  time: number;
  seenAt: number;
  online?: boolean;
  /** Last value per canonical metric name, with the time it was measured. */
  values: Record<string, { value: number; time: number }>;
  lastEvent?: { event: string; door?: string; time: number };
}

/** What is kept per device: the values as parallel arrays, in the order metrics first came. */
interface Slot {
  readonly device: string;
  readonly family: Family;
  readonly model: string;
  time: number;
  seenAt: number;
  online: boolean | undefined;
  lastEvent: LatestEntry['lastEvent'];
  readonly names: string[];
  readonly values: number[];
  readonly times: number[];
}

/**
 * The newest canonical values per device: what an installer checks on site and what the demo's live
 * summary shows. No history. Values are kept in three arrays per device rather than an object per
 * metric: write() runs for every reading, and each small object it would touch is a likely cache
 * miss at full load. get() and all() build LatestEntry snapshots.
 */
export class LatestReadings implements ReadingSink {
  private readonly byDevice = new Map<string, Slot>();
  /** Access events since start, by canonical event. */
  readonly eventCounts: Record<string, number> = {};
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  write(reading: Reading, device: Device, at?: number): void {
    let slot = this.byDevice.get(device.id);
    if (!slot) {
      slot = {
        device: device.id,
        family: device.family,
        model: device.model,
        time: 0,
        seenAt: 0,
        online: undefined,
        lastEvent: undefined,
        names: [],
        values: [],
        times: [],
      };
      this.byDevice.set(device.id, slot);
    }
    slot.seenAt = at ?? this.clock();
    const t = reading.time;
    if (t > slot.time) slot.time = t;
    if (reading.measurement === 'access') {
      const event = reading.tags.event;
      if (event) {
        slot.lastEvent = { event, door: reading.tags.door, time: t };
        this.eventCounts[event] = (this.eventCounts[event] ?? 0) + 1;
      }
      return;
    }
    const { names, values, times } = slot;
    const fields = reading.fields;
    // A reading's fields usually follow each other in `names` as they did the first time: check
    // the next slot before searching.
    let next = 0;
    for (const name in fields) {
      let i = names[next] === name ? next : names.indexOf(name);
      if (i === -1) {
        i = names.length;
        names.push(name);
        values.push(fields[name] as number);
        times.push(t);
      } else if (times[i]! <= t) {
        values[i] = fields[name] as number;
        times[i] = t;
      }
      next = i + 1;
    }
    const online = fields.online;
    if (online !== undefined) slot.online = online === 1;
  }

  get(id: string): LatestEntry | undefined {
    const slot = this.byDevice.get(id);
    return slot && entryOf(slot);
  }

  *all(): IterableIterator<LatestEntry> {
    for (const slot of this.byDevice.values()) yield entryOf(slot);
  }

  get size(): number {
    return this.byDevice.size;
  }
}

function entryOf(slot: Slot): LatestEntry {
  const values: LatestEntry['values'] = {};
  for (let i = 0; i < slot.names.length; i++) {
    values[slot.names[i]!] = { value: slot.values[i]!, time: slot.times[i]! };
  }
  const entry: LatestEntry = {
    device: slot.device,
    family: slot.family,
    model: slot.model,
    time: slot.time,
    seenAt: slot.seenAt,
    values,
  };
  if (slot.online !== undefined) entry.online = slot.online;
  if (slot.lastEvent !== undefined) entry.lastEvent = slot.lastEvent;
  return entry;
}
