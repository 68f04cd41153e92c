import type { AlertEvent } from '../alerts/event.js';
import {
  type Clock,
  type Device,
  type LocationPath,
  type Reading,
  type ReadingSink,
  systemClock,
} from '../types.js';
import type { CompiledRule } from './compile.js';
import { CorrelationState } from './correlation.js';
import { Delivery } from './delivery.js';
import { type DeviceState, DeviceTable, makePlan, type TriggerPlan } from './device-table.js';
import { type EngineStats, newStats, type RuleEngineOptions, type RuleStatus } from './engine-types.js';
import { bindWindows, observe } from './evaluate.js';
import { evalBool } from './expr.js';
import { type Incident, isOpen, type Transition } from './incident.js';
import { type IncidentFilter, IncidentTable } from './incident-table.js';
import { type Identity, type Observation, step } from './lifecycle.js';
import type { RuleSet } from './parse.js';
import { RuleIndex } from './rule-index.js';
import { StateWriteBehind } from './write-behind.js';

export type { EngineStats, RuleEngineOptions, RuleStatus } from './engine-types.js';

const REFIRE_COUNTS_AS_FLAP_MS = 3_600_000;

/**
 * Evaluates rules on the reading stream and drives incidents through their lifecycle. `write` never
 * throws and touches only the rules indexed under the reading's family and metrics; `tick` moves
 * time-driven transitions (for, keepFiringFor, resolveAfter, reminders, no data).
 */
export class RuleEngine implements ReadingSink {
  private index: RuleIndex;
  private readonly devices: DeviceTable;
  private readonly incidents = new IncidentTable();
  private readonly correlation = new CorrelationState();
  private readonly delivery: Delivery;
  private readonly ruleEvals = new Map<string, { n: number; at: number }>();
  /** The same records by position in the current index. */
  private evalsByPos: ({ n: number; at: number } | undefined)[] = [];
  private readingSeq = 0;
  /**
   * Whether the device of the reading being evaluated has no incident: looked up once per reading
   * (not once per rule), and again after an incident changed (undefined = look it up).
   */
  private quiet: boolean | undefined;
  private readonly writeBehind: StateWriteBehind;
  private readonly clock: Clock;
  readonly stats: EngineStats = newStats();

  constructor(private readonly opts: RuleEngineOptions) {
    this.index = new RuleIndex('rules' in opts.rules ? opts.rules.rules : opts.rules);
    this.clock = opts.clock ?? systemClock;
    this.devices = new DeviceTable(opts.directory);
    this.writeBehind = new StateWriteBehind(
      opts.store,
      this.incidents,
      this.devices,
      this.clock,
      this.stats,
      opts,
    );
    // Dispatch events leave through the write-behind only: saved with their state, then sent.
    const sink = this.writeBehind.outward;
    this.delivery = new Delivery({ ...opts, sink }, this.stats, (inc) => this.incidents.touch(inc.key));
  }

  /**
   * Restore incidents, last-seen times and windows, send again the events a crash left saved, then
   * start the write-behind timer.
   */
  async start(): Promise<void> {
    const snap = await this.opts.store.load();
    this.incidents.restore(snap.incidents);
    this.devices.restore(snap);
    this.writeBehind.resend(snap.held ?? []);
    this.writeBehind.start(this.opts.flushIntervalMs ?? 500);
  }

  /** Save the state and hand on every event saved with it (see drain for what comes after). */
  stop(): Promise<void> {
    return this.writeBehind.stop();
  }

  /**
   * Save every event raised so far with its state and hand it on; once the sink has settled each (or
   * `ms` passed, when given), forget the saved copies of those it took, so that the next start does
   * not send them again. Await it before reading what the sink got; at shutdown, after the sink's stop.
   */
  drain(ms?: number): Promise<void> {
    return this.writeBehind.drain(ms);
  }

  /** Persist what changed since the last flush in one batch (window snapshots when due, or `withWindows`). */
  flush(withWindows = false): Promise<void> {
    return this.writeBehind.flush(withWindows);
  }

  write(reading: Reading, device: Device): void {
    try {
      this.stats.readings++;
      // HJ 212-2017 data flags: only N (normal) is real data; maintenance, calibration and fault
      // values (M, C, D, ...) must not raise alerts.
      const q = reading.tags.quality;
      if (q !== undefined && q !== 'N') {
        this.stats.skippedQuality++;
        return;
      }
      if (device.state === 'maintenance' || device.state === 'retired') {
        this.stats.skippedMaintenance++;
        return;
      }
      const ds = this.devices.state(device);
      const now = reading.time;
      this.devices.seen(ds, now);
      const ctx = ds.ctx;
      const fields = reading.fields;
      const idx = this.index;
      if (ds.planIndex !== idx || ds.planDevice !== device) {
        // A reload or a registry change: plans are made again as readings come.
        ds.planIndex = idx;
        ds.planDevice = device;
        ds.plans = [];
        ds.nodata = idx.nodata.get(device.family);
      }
      // The fields are checked against the plan of the last reading of this measurement: a device's
      // readings of a measurement have the same fields. (A short array scanned by identity, and key
      // lists shared by all devices: this runs for every reading, and each object it reaches is a
      // likely cache miss.) Then the fields a rule reads go into the context, and only those: a
      // store per field into an object shaped by whatever fields came is the costly part.
      const plans = ds.plans;
      let plan: TriggerPlan | undefined;
      for (let i = 0; i < plans.length; i++) {
        if (plans[i]!.measurement === reading.measurement) {
          plan = plans[i];
          break;
        }
      }
      const keys = plan?.keys;
      let same = keys !== undefined;
      let n = 0;
      for (const k in fields) {
        if (same && keys![n] !== k) same = false;
        n++;
      }
      const event = reading.tags.event !== undefined;
      if (!same || n !== keys!.length || plan!.event !== event) {
        const fresh = makePlan(idx, device, reading.measurement, Object.keys(fields), event);
        if (plan) plans[plans.indexOf(plan)] = fresh;
        else plans.push(fresh);
        plan = fresh;
      }
      const copy = plan!.copy;
      for (let i = 0; i < copy.length; i++) {
        const k = copy[i]!;
        ctx[k] = fields[k];
      }
      ctx.access = reading.tags;
      ctx.tags = reading.tags;
      const seq = ++this.readingSeq;
      this.quiet = undefined;
      const positions = plan!.positions;
      for (let i = 0; i < positions.length; i++) this.consider(idx, positions[i]!, seq, reading, ds, now);
      // Any reading ends a no-data incident of its device.
      const dead = ds.nodata;
      if (dead !== undefined && !this.isQuiet(device.id)) {
        for (const r of dead) {
          const inc = this.incidents.get(`${r.id}|${device.id}`);
          if (inc && inc.phase !== 'resolved') {
            this.advance(r, inc.key, { rank: -1, cleared: true }, now, device, device.location);
          }
        }
      }
    } catch (err) {
      this.opts.logger?.error({ err, device: device.id }, 'rule evaluation failed');
    }
  }

  private consider(
    idx: RuleIndex,
    pos: number,
    seq: number,
    reading: Reading,
    ds: DeviceState,
    now: number,
  ): void {
    const r = idx.rules[pos]!; // selector already matched when the trigger plan was made (device-table.ts makePlan)
    this.stats.evaluations++;
    let ev = this.evalsByPos[pos];
    if (ev === undefined) {
      // Kept by id across reloads; by position for the rule set in force (no lookup per evaluation).
      ev = this.ruleEvals.get(r.id) ?? { n: 0, at: now };
      this.ruleEvals.set(r.id, ev);
      this.evalsByPos[pos] = ev;
    }
    ev.n++;
    ev.at = now;
    try {
      if (r.kind === 'correlation') this.evalCorrelation(r, seq, reading, ds, now);
      else this.evalDeviceRule(r, seq, reading, ds, now);
    } catch (err) {
      // One broken rule is logged with its id and the stream goes on.
      this.opts.logger?.error({ err, rule: r.id, device: ds.device.id }, 'rule evaluation failed');
    }
  }

  /** Whether the device of the reading being evaluated has no incident (see `quiet`). */
  private isQuiet(deviceId: string): boolean {
    if (this.quiet === undefined) this.quiet = !this.incidents.hasDevice(deviceId);
    return this.quiet;
  }

  private evalDeviceRule(r: CompiledRule, seq: number, reading: Reading, ds: DeviceState, now: number): void {
    let by = '';
    for (const tag of r.spec.by) by += `|${reading.tags[tag] ?? ''}`;
    if (!bindWindows(r, ds, by, reading, seq, now)) return;
    const quiet = this.isQuiet(ds.device.id);
    const verdict = observe(r, ds.ctx, quiet);
    if (verdict === 'unknown') {
      this.stats.unevaluable++;
      return;
    }
    if (quiet && verdict === 'no_change') return;
    const key = `${r.id}|${ds.device.id}${by}`;
    const obs = verdict === 'no_change' ? undefined : verdict;
    if (!obs && !this.incidents.has(key)) return;
    this.advance(r, key, obs, now, ds.device, ds.device.location, reading.tags);
  }

  private evalCorrelation(
    r: CompiledRule,
    seq: number,
    reading: Reading,
    ds: DeviceState,
    now: number,
  ): void {
    const scope = CorrelationState.scopeOf(ds.device.location, r.scope!);
    const stateKey = `${r.id}|${scope.key}`;
    if (bindWindows(r, ds, '', reading, seq, now)) {
      r.clauses.forEach((c, i) => {
        if (c.family && c.family !== ds.device.family) return;
        const ok = evalBool(c.when, ds.ctx);
        if (ok !== undefined) this.correlation.record(stateKey, r.clauses.length, i, ds.device.id, ok, now);
      });
    }
    const windowMs = r.spec.correlation!.window;
    const active = this.correlation.active(stateKey, now, windowMs);
    const key = `${r.id}|@${scope.key}`;
    if (!active && !this.incidents.has(key)) return;
    if (!active && !this.correlation.warm(stateKey, now, windowMs)) return;
    const obs = { rank: active ? r.levels[0]!.rank : -1, cleared: true };
    this.advance(r, key, obs, now, undefined, scope.location);
  }

  /** Move time-driven transitions: pending `for`, keepFiringFor, resolveAfter, reminders, no data. */
  tick(now: number = this.clock.now()): void {
    const recentMs = this.opts.recentMs ?? 86_400_000;
    for (const [key, inc] of this.incidents.entries()) {
      if (inc.phase === 'resolved') {
        if (now - (inc.resolvedAt ?? 0) > recentMs) this.incidents.delete(key);
        continue;
      }
      const r = this.index.byId.get(inc.ruleId);
      if (!r) continue;
      const device = inc.deviceId ? this.devices.device(inc.deviceId) : undefined;
      this.advance(r, key, undefined, now, device, inc.location);
      // A silence that ended, or a device confirmed out of commissioning, over a still-open incident.
      this.delivery.catchUp(r, inc, device, now);
    }
    if (!this.index.nodata.size) return;
    for (const ds of this.devices.all()) {
      const d = ds.device;
      const rules = this.index.nodata.get(d.family);
      if (!rules || d.state === 'maintenance' || d.state === 'retired') continue;
      for (const r of rules) {
        if (!r.matches(d) || now - ds.lastSeen < r.spec.nodata!) continue;
        const obs = {
          rank: r.levels[0]!.rank,
          cleared: false,
          value: Math.round((now - ds.lastSeen) / 60_000),
        };
        this.advance(r, `${r.id}|${d.id}`, obs, now, d, d.location);
      }
    }
  }

  private advance(
    r: CompiledRule,
    key: string,
    obs: Observation | undefined,
    now: number,
    device: Device | undefined,
    location: LocationPath,
    tags?: Record<string, string>,
  ): void {
    const prev = this.incidents.get(key);
    // The common case, nothing open and nothing holds: no state to touch, nothing to allocate.
    if (!prev && (!obs || obs.rank < 0)) return;
    const prevPhase = prev?.phase;
    const prevSeverity = prev?.severity;
    // Only an incident that fired counts toward a re-fire flap (a dropped pending never bothered anyone).
    const prevResolvedAt = prev?.firedAt !== undefined ? prev.resolvedAt : undefined;
    const who: Identity = {
      ruleId: r.id,
      key,
      deviceId: device?.id,
      location,
      shadow: r.spec.mode === 'shadow',
    };
    if (tags && r.spec.by.length && (!prev || prev.phase === 'resolved')) {
      who.by = Object.fromEntries(r.spec.by.map((t) => [t, tags[t] ?? '']));
    }
    const { incident, transitions } = step(prev, obs, now, r.timing, who);
    if (!incident) return;
    if (incident !== prev) {
      this.incidents.set(key, incident);
      this.quiet = undefined;
      if (prevResolvedAt !== undefined && now - prevResolvedAt < REFIRE_COUNTS_AS_FLAP_MS)
        this.countFlap(r.id);
    } else if (prevPhase === 'resolving' && incident.phase === 'firing' && obs && obs.rank >= 0) {
      this.countFlap(r.id);
    }
    if (incident.phase !== prevPhase || incident.severity !== prevSeverity || transitions.length) {
      this.incidents.touch(key);
    }
    for (const tr of transitions) this.deliver(r, incident, tr, device, now);
  }

  private countFlap(ruleId: string): void {
    this.stats.flaps.set(ruleId, (this.stats.flaps.get(ruleId) ?? 0) + 1);
  }

  private deliver(r: CompiledRule, inc: Incident, tr: Transition, device: Device | undefined, now: number) {
    this.delivery.deliver(r, inc, tr, device, now);
  }

  /**
   * Swap the rule set atomically. Incidents of rules that still exist carry on; open incidents of
   * deleted rules resolve (alert.resolved, summary says the rule was deleted); pending ones are dropped.
   */
  replaceRules(set: RuleSet | readonly CompiledRule[]): void {
    const old = this.index;
    this.index = new RuleIndex('rules' in set ? set.rules : set);
    this.evalsByPos = [];
    const now = this.clock.now();
    for (const [key, inc] of this.incidents.entries()) {
      if (this.index.byId.has(inc.ruleId) || inc.phase === 'resolved') continue;
      const wasOpen = isOpen(inc);
      inc.phase = 'resolved';
      inc.resolvedAt = now;
      this.incidents.touch(key);
      const r = old.byId.get(inc.ruleId);
      if (wasOpen && r) {
        const device = inc.deviceId ? this.devices.device(inc.deviceId) : undefined;
        const tr: Transition = { type: 'alert.resolved', severity: inc.severity, reason: 'rule_deleted' };
        this.deliver(r, inc, tr, device, now);
      }
    }
  }

  get rules(): readonly CompiledRule[] {
    return this.index.rules;
  }

  /** For the dispatcher's supervision: the rule's ackWithin in ms, if it has one. */
  readonly ackWithinFor = (event: AlertEvent): number | undefined =>
    this.index.byId.get(event.rule.id)?.spec.ackWithin;

  getIncident(id: string): Incident | undefined {
    const i = this.incidents.findById(id);
    return i && structuredClone(i);
  }

  /** Open incidents and those resolved within `recentMs`, newest first; never-fired pendings excluded. */
  listIncidents(filter: IncidentFilter = {}): Incident[] {
    return this.incidents.list(filter);
  }

  /** Acknowledge an incident (the closed loop's 签收); the first ack wins. Undefined when no such incident. */
  ack(id: string, by: string, at: number = this.clock.now()): Incident | undefined {
    return this.incidents.ack(id, by, at);
  }

  get shadowEvents(): readonly AlertEvent[] {
    return this.delivery.shadowEvents;
  }

  rulesStatus(): RuleStatus[] {
    const open = this.incidents.openByRule();
    return this.index.rules.map((r) => {
      const ev = this.ruleEvals.get(r.id);
      return {
        id: r.id,
        name: r.spec.name,
        kind: r.kind,
        mode: r.spec.mode,
        evaluations: ev?.n ?? 0,
        lastEvaluatedAt: ev?.at,
        open: open.get(r.id) ?? 0,
      };
    });
  }
}
