import type { AlertEvent } from '../alerts/event.js';
import type { Incident } from './incident.js';
import type { WindowSnapshot } from './windows.js';

/**
 * Where the engine keeps incident state across restarts: open and recent incidents (with their
 * pending timers and flap history), each device's last-seen time (for no-data rules), and the alert
 * events saved with that state but not yet taken by their sink (see write-behind.ts). The engine
 * batches changes and calls `save` once per flush, never once per reading.
 */
export interface IncidentSnapshot {
  incidents: Incident[];
  lastSeen: Record<string, number>;
  /** Window state of devices that had open incidents, so a restart can still clear them on time. */
  windows: Record<string, Record<string, WindowSnapshot>>;
  /** Events a crash left unsent, in the order they were raised; absent when there are none. */
  held?: HeldEvent[];
}

/** An alert event saved with the incident state it follows from, kept until its sink took it. */
export interface HeldEvent {
  /** When it was raised (engine clock), then a counter of the run that raised it: the order to send in. */
  at: number;
  n: number;
  event: AlertEvent;
}

export interface IncidentChanges {
  put: Incident[];
  /** Incident keys to forget. */
  remove: string[];
  lastSeen: [deviceId: string, at: number][];
  windows?: { put: [deviceId: string, windows: Record<string, WindowSnapshot>][]; remove: string[] };
  /** Events to keep with this state, and ids of kept events their sink has taken. */
  held?: { put: HeldEvent[]; remove: string[] };
}

export interface IncidentStore {
  load(): Promise<IncidentSnapshot>;
  /**
   * All of `changes` or none of them: an event is never kept without its incident's state, nor the
   * reverse. Saves may overlap: called before the last one is answered, they are applied in the
   * order they were called. The write is issued before save returns, so whatever the caller sends
   * to the same store afterwards (the alert sink, over the same connection) is applied after it.
   */
  save(changes: IncidentChanges): Promise<void>;
}

/** Held events in the order they were raised. */
export function heldInOrder(held: Iterable<HeldEvent>): HeldEvent[] {
  return [...held].sort((a, b) => a.at - b.at || a.n - b.n);
}

/** For the replay tool and unit tests; same contract as the Redis store. */
export class MemoryIncidentStore implements IncidentStore {
  private readonly incidents = new Map<string, string>();
  private readonly seen = new Map<string, number>();
  private readonly windows = new Map<string, string>();
  private readonly held = new Map<string, string>();

  async load(): Promise<IncidentSnapshot> {
    const snap: IncidentSnapshot = {
      incidents: [...this.incidents.values()].map((s) => JSON.parse(s) as Incident),
      lastSeen: Object.fromEntries(this.seen),
      windows: Object.fromEntries([...this.windows].map(([d, s]) => [d, JSON.parse(s)])),
    };
    if (this.held.size > 0)
      snap.held = heldInOrder([...this.held.values()].map((s) => JSON.parse(s) as HeldEvent));
    return snap;
  }

  async save(c: IncidentChanges): Promise<void> {
    // Serialized, like Redis: a later mutation of the engine's object must not leak in.
    for (const i of c.put) this.incidents.set(i.key, JSON.stringify(i));
    for (const k of c.remove) this.incidents.delete(k);
    for (const [d, at] of c.lastSeen) this.seen.set(d, at);
    for (const [d, w] of c.windows?.put ?? []) this.windows.set(d, JSON.stringify(w));
    for (const d of c.windows?.remove ?? []) this.windows.delete(d);
    for (const h of c.held?.put ?? []) this.held.set(h.event.id, JSON.stringify(h));
    for (const id of c.held?.remove ?? []) this.held.delete(id);
  }
}
