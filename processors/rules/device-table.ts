import type { Device, DeviceDirectory } from '../types.js';
import type { CompiledRule } from './compile.js';
import { internList } from './interned.js';
import type { RuleIndex } from './rule-index.js';
import type { IncidentSnapshot } from './store.js';
import { SampleWindow, type WindowSnapshot } from './windows.js';

/** What the engine keeps per device. */
export interface DeviceState {
  device: Device;
  /** Latest value of each metric a rule reads, plus `device`, `access`, `tags` and window variables: the CEL context, reused. */
  ctx: Record<string, unknown>;
  /** Windows by `[by values|]variable name`. */
  windows: Map<string, SampleWindow>;
  lastSeen: number;
  /** lastSeen moved since the store last took it. */
  seenDirty: boolean;
  /**
   * The rules whose selector matches this device, per measurement and field list (plans), for the
   * rule set (`planIndex`) and device record (`planDevice`) they were computed from: a reading then
   * costs in proportion to the rules that apply to its device (1,000 rules scoped by district cost
   * a reading only its district's). Rebuilt lazily after a reload or a registry change. Kept on the
   * state itself, not in an object of its own: each object a reading reaches is a likely cache miss.
   */
  planIndex: object | undefined;
  planDevice: Device | undefined;
  /** Per measurement: the rules the last reading's fields triggered, kept while the next has the same fields. */
  plans: TriggerPlan[];
  /** The no-data rules of the device's family in that rule set: any reading ends their incidents. */
  nodata: readonly CompiledRule[] | undefined;
}

export interface TriggerPlan {
  measurement: string;
  /** The reading's field names, in order. */
  keys: readonly string[];
  /** Whether it carried an event (which triggers `@event` rules). */
  event: boolean;
  /** Rule positions in the index, each once; one array shared by the devices with the same list (RuleIndex.shared). */
  positions: readonly number[];
  /** The fields some rule of the device's family reads: only these are copied into the context. */
  copy: readonly string[];
}

/**
 * Per-device state: last-seen times (for no-data rules) and windows, restored from the store after
 * a restart and handed back to it in batches.
 */
export class DeviceTable {
  private readonly states = new Map<string, DeviceState>();
  private readonly restoredSeen = new Map<string, number>();
  private readonly restoredWindows = new Map<string, Record<string, WindowSnapshot>>();
  private readonly persistedWindows = new Set<string>();
  /** States whose lastSeen moved since the last takeSeen(). */
  private seenDirty: DeviceState[] = [];

  constructor(private readonly directory?: DeviceDirectory) {}

  restore(snap: IncidentSnapshot): void {
    for (const [d, at] of Object.entries(snap.lastSeen)) this.restoredSeen.set(d, at);
    for (const [d, w] of Object.entries(snap.windows)) {
      this.restoredWindows.set(d, w);
      this.persistedWindows.add(d);
    }
  }

  state(device: Device): DeviceState {
    let ds = this.states.get(device.id);
    if (!ds) {
      const windows = new Map<string, SampleWindow>();
      for (const [k, w] of Object.entries(this.restoredWindows.get(device.id) ?? {})) {
        windows.set(k, SampleWindow.restore(w));
      }
      ds = {
        device,
        ctx: { device },
        windows,
        lastSeen: this.restoredSeen.get(device.id) ?? Number.NEGATIVE_INFINITY,
        seenDirty: false,
        planIndex: undefined,
        planDevice: undefined,
        plans: [],
        nodata: undefined,
      };
      this.restoredSeen.delete(device.id);
      this.restoredWindows.delete(device.id);
      this.states.set(device.id, ds);
    } else if (ds.device !== device) {
      ds.device = device;
      ds.ctx.device = device;
    }
    return ds;
  }

  seen(ds: DeviceState, at: number): void {
    if (at <= ds.lastSeen) return;
    ds.lastSeen = at;
    // A flag on the state, not a set insert (a string hash) for every reading.
    if (!ds.seenDirty) {
      ds.seenDirty = true;
      this.seenDirty.push(ds);
    }
  }

  /** The registry's current record first: its install state decides who hears of the device's incidents. */
  device(id: string): Device | undefined {
    return this.directory?.get(id) ?? this.states.get(id)?.device;
  }

  /** Every known device, including those only known from the store (resolved through the directory). */
  *all(): Iterable<DeviceState> {
    if (this.restoredSeen.size && this.directory) {
      for (const id of [...this.restoredSeen.keys()]) {
        const d = this.directory.get(id);
        if (!d) this.restoredSeen.delete(id);
        else if (!this.states.has(id)) this.state(d);
      }
    }
    yield* this.states.values();
  }

  get hasSeenChanges(): boolean {
    return this.seenDirty.length > 0;
  }

  takeSeen(): [string, number][] {
    const out: [string, number][] = [];
    for (const ds of this.seenDirty) {
      ds.seenDirty = false;
      out.push([ds.device.id, ds.lastSeen]);
    }
    this.seenDirty = [];
    return out;
  }

  /** Last-seen times a save could not write: the next takeSeen() returns them again, as they are then. */
  requeueSeen(entries: readonly [string, number][]): void {
    for (const [id] of entries) {
      const ds = this.states.get(id);
      if (!ds || ds.seenDirty) continue;
      ds.seenDirty = true;
      this.seenDirty.push(ds);
    }
  }

  /** Window removals a save could not write: the next windowChanges() removes them again. */
  requeueWindowRemovals(ids: readonly string[]): void {
    for (const d of ids) this.persistedWindows.add(d);
  }

  /** Snapshots of the windows of `needed` devices; devices persisted before and no longer needed are removed. */
  windowChanges(needed: Set<string>): { put: [string, Record<string, WindowSnapshot>][]; remove: string[] } {
    const put: [string, Record<string, WindowSnapshot>][] = [];
    for (const id of needed) {
      const ds = this.states.get(id);
      if (!ds?.windows.size) continue;
      const snap: Record<string, WindowSnapshot> = {};
      for (const [k, w] of ds.windows) snap[k] = w.snapshot();
      put.push([id, snap]);
    }
    const remove = [...this.persistedWindows].filter((d) => !needed.has(d) && !this.restoredWindows.has(d));
    for (const d of remove) this.persistedWindows.delete(d);
    for (const [d] of put) this.persistedWindows.add(d);
    return { put, remove };
  }
}

/** Field lists (a model's measurement has one or a few) shared by all devices; bounded against the unexpected. */
const KEY_LISTS = new Map<string, readonly string[]>();
const MAX_KEY_LISTS = 10_000;

/**
 * The rules a reading with these fields (and an event, or not) triggers on this device, in the
 * order the fields come, each once.
 */
export function makePlan(
  idx: RuleIndex,
  device: Device,
  measurement: string,
  keys: string[],
  event: boolean,
): TriggerPlan {
  const positions: number[] = [];
  const add = (key: string) => {
    for (const pos of idx.candidates(device.family, key, device.location.district)) {
      if (!positions.includes(pos) && idx.rules[pos]!.matches(device)) positions.push(pos);
    }
  };
  for (const k of keys) add(k);
  if (event) add('@event');
  return {
    measurement,
    keys: internList(KEY_LISTS, keys, MAX_KEY_LISTS),
    event,
    positions: idx.shared(positions),
    copy: internList(
      KEY_LISTS,
      keys.filter((k) => idx.reads(device.family, k)),
      MAX_KEY_LISTS,
    ),
  };
}
