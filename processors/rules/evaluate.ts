import type { Reading } from '../types.js';
import type { CompiledRule } from './compile.js';
import type { DeviceState } from './device-table.js';
import { evalBool, evalNumber } from './expr.js';
import type { Observation } from './lifecycle.js';
import { partialIsLowerBound, SampleWindow } from './windows.js';

/**
 * Feed the rule's windows with this reading (once per reading, however many rules share a window)
 * and bind their values into the device's CEL context. False when a window that is not a lower
 * bound (avg, min, max, delta, rate) is younger than its duration: such a rule gives no verdict yet,
 * so neither a lone spike after a start nor a half-empty window after a restart decides anything.
 */
export function bindWindows(
  r: CompiledRule,
  ds: DeviceState,
  by: string,
  reading: Reading,
  seq: number,
  now: number,
): boolean {
  let complete = true;
  for (const w of r.windows) {
    const wkey = by ? `${by}|${w.name}` : w.name;
    let win = ds.windows.get(wkey);
    if (!win) {
      win = new SampleWindow(w.durationMs, now);
      ds.windows.set(wkey, win);
    }
    if (win.lastFeed !== seq) {
      win.lastFeed = seq;
      if (w.isEvent) {
        if (reading.tags.event === w.source) win.push(now, 1);
      } else {
        const v = reading.fields[w.source];
        if (v !== undefined) win.push(now, v);
      }
    }
    ds.ctx[w.name] = win.read(w.fn, now);
    if (!partialIsLowerBound(w) && !win.full(now)) complete = false;
  }
  return complete;
}

/** `unknown`: no level could be evaluated (e.g. the device lacks the attribute a threshold names). */
export type Verdict = Observation | 'unknown' | 'no_change';

/**
 * One condition or event rule against the bound context: the highest level that holds, or whether
 * the incident may clear. Event rules: a non-matching event says nothing (`no_change`) unless the
 * rule's `clear` matches it; the incident otherwise ends by `resolveAfter`. `quiet`: the caller
 * knows there is no incident to clear, so when no level holds the answer is `no_change`, without
 * building an observation or evaluating its value (the common case on a stream of normal readings).
 */
export function observe(r: CompiledRule, ctx: Record<string, unknown>, quiet = false): Verdict {
  let known = false;
  for (const level of r.levels) {
    const ok = evalBool(level.when!, ctx);
    if (ok === undefined) continue;
    known = true;
    if (ok) {
      return {
        rank: level.rank,
        cleared: false,
        value: level.value ? evalNumber(level.value, ctx) : undefined,
        threshold: level.threshold ? evalNumber(level.threshold, ctx) : undefined,
      };
    }
  }
  if (!known) return 'unknown';
  if (quiet) {
    // Still evaluated for a condition rule, so a `clear` that can never be decided shows up in
    // the unevaluable count before an incident that could never clear fires.
    if (r.kind !== 'event' && r.clear && evalBool(r.clear, ctx) === undefined) return 'unknown';
    return 'no_change';
  }
  if (r.kind === 'event') {
    return r.clear && evalBool(r.clear, ctx) === true ? { rank: -1, cleared: true } : 'no_change';
  }
  const cleared = r.clear ? evalBool(r.clear, ctx) : true;
  if (cleared === undefined) return 'unknown';
  const low = r.levels[r.levels.length - 1]!;
  return { rank: -1, cleared, value: low.value ? evalNumber(low.value, ctx) : undefined };
}
