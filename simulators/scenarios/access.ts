import type { AccessEvent, AccessMethod } from '../../processors/metrics/catalogue.js';
import { type AccessRecord, supportedEvents } from '../encode.js';
import type { Rng } from '../prng.js';
import type { Health } from './health.js';
import { type Behaviour, chinaHour, type Emission, HOUR_MS, Periodic, type SimDevice } from './types.js';

/**
 * A door access controller (门禁): people badge in all day, busiest at the commute, most are granted
 * and a few denied; each grant opens and closes the door. With incidents on, doors are forced, held
 * open past the controller's hold timer, and someone tries a card again and again (a denied burst:
 * 5+ denied at one door within 2 minutes). Only events the vendor's model can express are sent.
 */
export interface AccessControllerOptions {
  startMs: number;
  incidents: boolean;
  /** Incident rates per controller per scenario hour. */
  forcedPerHour?: number;
  heldPerHour?: number;
  deniedBurstPerHour?: number;
  tamperPerHour?: number;
  /** Share of badge attempts that are denied. */
  deniedShare?: number;
}

/** Badge attempts per hour at one controller, by China local hour: commute peaks, quiet nights. */
export function trafficPerHour(hour: number): number {
  if (hour < 6 || hour >= 23) return 3;
  if ((hour >= 7.5 && hour < 9.5) || (hour >= 17 && hour < 19)) return 60;
  return 20;
}

const METHOD_WEIGHTS: readonly (readonly [AccessMethod, number])[] = [
  ['card', 0.5],
  ['face', 0.35],
  ['qr', 0.1],
  ['pin', 0.05],
];

interface Pending {
  at: number;
  record: AccessRecord;
}

export function createAccessController(
  sim: SimDevice,
  rng: Rng,
  health: Health,
  opts: AccessControllerOptions,
): Behaviour {
  const events = supportedEvents(sim.model);
  const methods = new Set(Object.values(sim.model.event?.method?.map ?? {}));
  const doors = Array.from({ length: rng.int(1, 4) }, (_, i) => String(i + 1));
  const busyness = rng.range(0.5, 1.5);
  const deniedShare = opts.deniedShare ?? 0.07;
  const rates = {
    forced: opts.incidents ? (opts.forcedPerHour ?? 0.05) : 0,
    held: opts.incidents ? (opts.heldPerHour ?? 0.08) : 0,
    burst: opts.incidents ? (opts.deniedBurstPerHour ?? 0.04) : 0,
    tamper: opts.incidents ? (opts.tamperPerHour ?? 0.005) : 0,
  };
  const heartbeat =
    sim.model.fields.length > 0
      ? new Periodic(sim.model.reportingIntervalS * 1000, opts.startMs, rng.next())
      : undefined;
  const pending: Pending[] = [];
  const gap = (perHour: number) =>
    perHour > 0 ? rng.exponential(HOUR_MS / perHour) : Number.POSITIVE_INFINITY;
  let nextBadge = opts.startMs + gap(trafficPerHour(chinaHour(opts.startMs)) * busyness);
  const next = {
    forced: opts.startMs + gap(rates.forced),
    held: opts.startMs + gap(rates.held),
    burst: opts.startMs + gap(rates.burst),
    tamper: opts.startMs + gap(rates.tamper),
  };

  const push = (at: number, event: AccessEvent, door: string, method?: AccessMethod) => {
    if (!events.has(event)) return;
    const record: AccessRecord = { event, door };
    if (method && methods.has(method)) record.method = method;
    pending.push({ at: Math.round(at), record });
  };
  const pickMethod = (): AccessMethod | undefined => {
    const usable = METHOD_WEIGHTS.filter(([m]) => methods.has(m));
    if (usable.length === 0) return undefined;
    let r = rng.next() * usable.reduce((s, [, w]) => s + w, 0);
    for (const [m, w] of usable) {
      r -= w;
      if (r <= 0) return m;
    }
    return usable[usable.length - 1]?.[0];
  };
  const openAndClose = (at: number, door: string, holdMs: number) => {
    push(at + rng.range(500, 2500), 'door_open', door);
    push(at + holdMs, 'door_closed', door);
  };

  const generate = (to: number) => {
    while (nextBadge <= to) {
      const at = nextBadge;
      const door = rng.pick(doors);
      const method = pickMethod();
      if (rng.chance(deniedShare)) push(at, 'denied', door, method);
      else {
        push(at, 'granted', door, method);
        openAndClose(at, door, rng.range(4000, 12000));
      }
      nextBadge = at + gap(trafficPerHour(chinaHour(at)) * busyness);
    }
    while (next.forced <= to) {
      const door = rng.pick(doors);
      push(next.forced, 'door_forced', door);
      push(next.forced + rng.range(10_000, 60_000), 'door_closed', door);
      next.forced += gap(rates.forced);
    }
    while (next.held <= to) {
      const door = rng.pick(doors);
      const at = next.held;
      push(at, 'granted', door, pickMethod());
      push(at + 1500, 'door_open', door);
      // The controller's hold timer (typically 30–60 s) fires, then someone finally shuts it.
      push(at + rng.range(30_000, 60_000), 'door_held', door);
      push(at + rng.range(90_000, 300_000), 'door_closed', door);
      next.held += gap(rates.held);
    }
    while (next.burst <= to) {
      const door = rng.pick(doors);
      const method = pickMethod();
      const n = rng.int(5, 9);
      for (let i = 0; i < n; i++) push(next.burst + rng.range(0, 100_000), 'denied', door, method);
      next.burst += gap(rates.burst);
    }
    while (next.tamper <= to) {
      push(next.tamper, 'tamper', rng.pick(doors));
      next.tamper += gap(rates.tamper);
    }
  };

  return {
    tick(from, to) {
      generate(to);
      const out: Emission[] = [];
      for (const at of heartbeat?.due(from, to) ?? []) {
        out.push({ kind: 'telemetry', at, values: health.sample(at) });
      }
      pending.sort((a, b) => a.at - b.at);
      let n = 0;
      while (n < pending.length && (pending[n] as Pending).at <= to) n++;
      for (const p of pending.splice(0, n)) out.push({ kind: 'event', at: p.at, record: p.record });
      out.sort((a, b) => a.at - b.at);
      return out;
    },
  };
}
