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

/**
 * The newest canonical values per device: what an installer checks on site and what the demo's live
 * summary shows. One map write per field; no history.
 */
export class LatestReadings implements ReadingSink {
  private readonly byDevice = new Map<string, LatestEntry>();
  /** Access events since start, by canonical event. */
  readonly eventCounts: Record<string, number> = {};
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  write(reading: Reading, device: Device): void {
    let entry = this.byDevice.get(device.id);
    if (!entry) {
      entry = {
        device: device.id,
        family: device.family,
        model: device.model,
        time: 0,
        seenAt: 0,
        values: {},
      };
      this.byDevice.set(device.id, entry);
    }
    entry.seenAt = this.clock();
    if (reading.time > entry.time) entry.time = reading.time;
    if (reading.measurement === 'access') {
      const event = reading.tags.event;
      if (event) {
        entry.lastEvent = { event, door: reading.tags.door, time: reading.time };
        this.eventCounts[event] = (this.eventCounts[event] ?? 0) + 1;
      }
      return;
    }
    for (const name in reading.fields) {
      const value = reading.fields[name] as number;
      const prev = entry.values[name];
      if (!prev) entry.values[name] = { value, time: reading.time };
      else if (prev.time <= reading.time) {
        // In place: this runs for every field of every reading.
        prev.value = value;
        prev.time = reading.time;
      }
    }
    const online = reading.fields.online;
    if (online !== undefined) entry.online = online === 1;
  }

  get(id: string): LatestEntry | undefined {
    return this.byDevice.get(id);
  }

  all(): IterableIterator<LatestEntry> {
    return this.byDevice.values();
  }

  get size(): number {
    return this.byDevice.size;
  }
}
