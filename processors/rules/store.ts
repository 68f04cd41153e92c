import type { Incident } from './incident.js';
import type { WindowSnapshot } from './windows.js';

/**
 * Where the engine keeps incident state across restarts: open and recent incidents (with their
 * pending timers and flap history) and each device's last-seen time (for no-data rules). The engine
 * batches changes and calls `save` once per flush, never once per reading.
 */
export interface IncidentSnapshot {
  incidents: Incident[];
  lastSeen: Record<string, number>;
  /** Window state of devices that had open incidents, so a restart can still clear them on time. */
  windows: Record<string, Record<string, WindowSnapshot>>;
}

export interface IncidentChanges {
  put: Incident[];
  /** Incident keys to forget. */
  remove: string[];
  lastSeen: [deviceId: string, at: number][];
  windows?: { put: [deviceId: string, windows: Record<string, WindowSnapshot>][]; remove: string[] };
}

export interface IncidentStore {
  load(): Promise<IncidentSnapshot>;
  save(changes: IncidentChanges): Promise<void>;
}

/** For the replay tool and unit tests; same contract as the Redis store. */
export class MemoryIncidentStore implements IncidentStore {
  private readonly incidents = new Map<string, string>();
  private readonly seen = new Map<string, number>();
  private readonly windows = new Map<string, string>();

  async load(): Promise<IncidentSnapshot> {
    return {
      incidents: [...this.incidents.values()].map((s) => JSON.parse(s) as Incident),
      lastSeen: Object.fromEntries(this.seen),
      windows: Object.fromEntries([...this.windows].map(([d, s]) => [d, JSON.parse(s)])),
    };
  }

  async save(c: IncidentChanges): Promise<void> {
    // Serialized, like Redis: a later mutation of the engine's object must not leak in.
    for (const i of c.put) this.incidents.set(i.key, JSON.stringify(i));
    for (const k of c.remove) this.incidents.delete(k);
    for (const [d, at] of c.lastSeen) this.seen.set(d, at);
    for (const [d, w] of c.windows?.put ?? []) this.windows.set(d, JSON.stringify(w));
    for (const d of c.windows?.remove ?? []) this.windows.delete(d);
  }
}
