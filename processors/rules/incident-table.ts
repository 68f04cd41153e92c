import type { Severity } from '../alerts/event.js';
import { type Incident, isOpen } from './incident.js';

export interface IncidentFilter {
  open?: boolean;
  ruleId?: string;
  deviceId?: string;
  /** Any of these severities. */
  severities?: readonly Severity[];
}

/**
 * The engine's incidents by instance key, with the bookkeeping for write-behind persistence (what
 * changed since the last flush) and the queries the HTTP API serves.
 */
export class IncidentTable {
  private readonly byKey = new Map<string, Incident>();
  private readonly dirty = new Set<string>();
  private readonly removed = new Set<string>();
  /** Incidents (any phase) per device: a device with none skips every per-key lookup on the hot path. */
  private readonly perDevice = new Map<string, number>();

  restore(incidents: readonly Incident[]): void {
    for (const i of incidents) this.put(i.key, i);
  }

  /** Whether any incident, open or kept after resolving, belongs to this device. */
  hasDevice(id: string): boolean {
    return this.perDevice.has(id);
  }

  private put(key: string, inc: Incident): void {
    if (!this.byKey.has(key) && inc.deviceId !== undefined)
      this.perDevice.set(inc.deviceId, (this.perDevice.get(inc.deviceId) ?? 0) + 1);
    this.byKey.set(key, inc);
  }

  get(key: string): Incident | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * Put a new incident at its key. A fired incident it replaces (resolved, the condition came back)
   * stays known by id under a key of its own until it ages out: the API and the supervision must
   * still find an incident the outside world was told about.
   */
  set(key: string, inc: Incident): void {
    const old = this.byKey.get(key);
    if (old && old !== inc && old.firedAt !== undefined) {
      old.key = `${key}#${old.id}`;
      this.put(old.key, old);
      this.touch(old.key);
    }
    this.put(key, inc);
    this.touch(key);
  }

  /** Mark an incident changed, to be saved by the next flush. */
  touch(key: string): void {
    this.dirty.add(key);
    this.removed.delete(key);
  }

  delete(key: string): void {
    const id = this.byKey.get(key)?.deviceId;
    if (id !== undefined) {
      const n = (this.perDevice.get(id) ?? 1) - 1;
      if (n > 0) this.perDevice.set(id, n);
      else this.perDevice.delete(id);
    }
    this.byKey.delete(key);
    this.dirty.delete(key);
    this.removed.add(key);
  }

  entries(): IterableIterator<[string, Incident]> {
    return this.byKey.entries();
  }

  get hasChanges(): boolean {
    return this.dirty.size > 0 || this.removed.size > 0;
  }

  /** What changed since the last call. */
  takeChanges(): { put: Incident[]; remove: string[] } {
    const put: Incident[] = [];
    for (const k of this.dirty) {
      const i = this.byKey.get(k);
      if (i) put.push(i);
    }
    const remove = [...this.removed];
    this.dirty.clear();
    this.removed.clear();
    return { put, remove };
  }

  /**
   * Changes a save could not write go back in, unless a newer change of the same key came since:
   * the next flush writes the incident as it is then.
   */
  requeue(put: readonly Incident[], remove: readonly string[]): void {
    for (const i of put) if (this.byKey.has(i.key) && !this.removed.has(i.key)) this.dirty.add(i.key);
    for (const k of remove) if (!this.byKey.has(k) && !this.dirty.has(k)) this.removed.add(k);
  }

  /** Devices with a pending or open incident (their windows are worth persisting). */
  activeDevices(): Set<string> {
    const out = new Set<string>();
    for (const i of this.byKey.values()) if (i.deviceId && i.phase !== 'resolved') out.add(i.deviceId);
    return out;
  }

  findById(id: string): Incident | undefined {
    for (const i of this.byKey.values()) if (i.id === id) return i;
    return undefined;
  }

  /** Fired incidents (open, and resolved ones still kept), newest first, as copies. */
  list(filter: IncidentFilter = {}): Incident[] {
    const out: Incident[] = [];
    for (const i of this.byKey.values()) {
      if (i.firedAt === undefined) continue;
      if (filter.open && !isOpen(i)) continue;
      if (filter.ruleId && i.ruleId !== filter.ruleId) continue;
      if (filter.deviceId && i.deviceId !== filter.deviceId) continue;
      if (filter.severities && !filter.severities.includes(i.severity)) continue;
      out.push(structuredClone(i));
    }
    return out.sort((a, b) => b.pendingSince - a.pendingSince);
  }

  /** Acknowledge (the closed loop's 签收); the first ack wins. A copy, or undefined when not known. */
  ack(id: string, by: string, at: number): Incident | undefined {
    const i = this.findById(id);
    if (!i) return undefined;
    if (i.ackedAt === undefined) {
      i.ackedBy = by;
      i.ackedAt = at;
      this.touch(i.key);
    }
    return structuredClone(i);
  }

  openByRule(): Map<string, number> {
    const open = new Map<string, number>();
    for (const i of this.byKey.values()) if (isOpen(i)) open.set(i.ruleId, (open.get(i.ruleId) ?? 0) + 1);
    return open;
  }
}
