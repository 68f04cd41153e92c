import { SEVERITIES } from '../alerts/event.js';
import { type Incident, incidentId, type Transition } from './incident.js';

/**
 * The incident state machine, pure and clock-free: time comes in as `now`.
 *
 *   (none) --active--> pending --held `for`--> firing --higher level--> firing (alert.escalated)
 *   firing --cleared--> resolving --quiet for keepFiringFor (flap window when flapping)--> resolved
 *   resolving --active again--> firing (no event: one incident, one firing)
 *
 * "Cleared" is the rule's clear condition when it has one (hysteresis), else "no level holds".
 * An incident that re-activated `flap.count` times within `flap.window` is flapping and holds open
 * until quiet for the whole window, so a noisy signal yields one incident, not a stream of them.
 */

export interface Timing {
  forMs: number;
  keepFiringForMs: number;
  flap?: { count: number; windowMs: number };
  repeatMs?: number;
  /** Event rules: no matching event for this long counts as cleared. */
  resolveAfterMs?: number;
  ackWithinMs?: number;
}

/** One evaluation's verdict. rank: index in SEVERITIES of the highest level that holds, or -1. */
export interface Observation {
  rank: number;
  /** Meaningful when rank < 0: whether the clear condition holds (defaults to true without one). */
  cleared: boolean;
  value?: number;
  threshold?: number;
}

export interface Identity {
  ruleId: string;
  key: string;
  deviceId?: string;
  by?: Record<string, string>;
  location: Incident['location'];
  shadow: boolean;
}

const NONE: Transition[] = [];

/**
 * Advance `prev` (which may be undefined or resolved) by an observation, or by time alone when
 * `obs` is undefined (a tick). Returns the current incident (possibly new) and its transitions.
 * Mutates `prev` in place: the per-reading path allocates only when something changes.
 */
export function step(
  prev: Incident | undefined,
  obs: Observation | undefined,
  now: number,
  t: Timing,
  who: Identity,
): { incident: Incident | undefined; transitions: Transition[] } {
  let inc = prev;
  let out = NONE;
  const emit = (tr: Transition) => {
    if (out === NONE) out = [];
    out.push(tr);
  };
  if (obs) {
    if (obs.rank >= 0) {
      const sev = SEVERITIES[obs.rank]!;
      if (!inc || inc.phase === 'resolved') {
        inc = {
          id: incidentId(who.ruleId, who.key, now),
          key: who.key,
          ruleId: who.ruleId,
          deviceId: who.deviceId,
          ...(who.by ? { by: who.by } : {}),
          location: who.location,
          phase: 'pending',
          severity: sev,
          pendingSince: now,
          lastTrueAt: now,
          seq: 0,
          notified: false,
          // A copy: the resolved incident it follows stays known (by id) with its own history.
          flapTimes: inc ? [...inc.flapTimes] : [],
          flapping: false,
          ackWithinMs: t.ackWithinMs,
          shadow: who.shadow,
        };
        noteActivation(inc, now, t);
      } else if (inc.phase === 'pending') {
        if (obs.rank > SEVERITIES.indexOf(inc.severity)) inc.severity = sev;
      } else {
        if (inc.phase === 'resolving') {
          inc.phase = 'firing';
          inc.resolvingSince = undefined;
          noteActivation(inc, now, t);
        }
        if (obs.rank > SEVERITIES.indexOf(inc.severity)) {
          emit({
            type: 'alert.escalated',
            severity: sev,
            previousSeverity: inc.severity,
            reason: 'severity_rose',
          });
          inc.severity = sev;
        }
      }
      inc.lastTrueAt = now;
      inc.value = obs.value;
      inc.threshold = obs.threshold;
    } else if (inc) {
      if (inc.phase === 'pending') {
        // Never fired: drop silently, keep the flap history on the record.
        inc.phase = 'resolved';
        inc.resolvedAt = now;
        return { incident: inc, transitions: out };
      }
      if (inc.phase === 'firing' && obs.cleared) {
        inc.phase = 'resolving';
        inc.resolvingSince = now;
        if (obs.value !== undefined) inc.value = obs.value;
      } else if (inc.phase === 'resolving' && !obs.cleared) {
        // Back inside the hysteresis band: still firing, but it did not re-activate.
        inc.phase = 'firing';
        inc.resolvingSince = undefined;
      }
    }
  }
  if (!inc) return { incident: inc, transitions: out };
  if (inc.phase === 'pending' && now - inc.pendingSince >= t.forMs) {
    inc.phase = 'firing';
    inc.firedAt = now;
    inc.lastNotifiedAt = now;
    emit({ type: 'alert.firing', severity: inc.severity });
  }
  if (inc.phase === 'firing' && t.resolveAfterMs !== undefined && now - inc.lastTrueAt >= t.resolveAfterMs) {
    inc.phase = 'resolving';
    inc.resolvingSince = now;
  }
  if (inc.phase === 'resolving') {
    pruneFlaps(inc, now, t);
    const hold = inc.flapping ? Math.max(t.keepFiringForMs, t.flap!.windowMs) : t.keepFiringForMs;
    if (now - inc.resolvingSince! >= hold) {
      inc.phase = 'resolved';
      inc.resolvedAt = now;
      emit({ type: 'alert.resolved', severity: inc.severity });
      return { incident: inc, transitions: out };
    }
  }
  if (
    (inc.phase === 'firing' || inc.phase === 'resolving') &&
    t.repeatMs !== undefined &&
    inc.lastNotifiedAt !== undefined &&
    now - inc.lastNotifiedAt >= t.repeatMs
  ) {
    inc.lastNotifiedAt = now;
    emit({ type: 'alert.reminder', severity: inc.severity });
  }
  return { incident: inc, transitions: out };
}

function noteActivation(inc: Incident, now: number, t: Timing): void {
  if (!t.flap) return;
  inc.flapTimes.push(now);
  pruneFlaps(inc, now, t);
}

function pruneFlaps(inc: Incident, now: number, t: Timing): void {
  if (!t.flap) return;
  const cutoff = now - t.flap.windowMs;
  let drop = 0;
  while (drop < inc.flapTimes.length && inc.flapTimes[drop]! <= cutoff) drop++;
  if (drop) inc.flapTimes.splice(0, drop);
  // Once flapping, stay flapping until the incident resolves (quiet for the whole window).
  inc.flapping = inc.flapping || inc.flapTimes.length >= t.flap.count;
}
