import type { Rng } from '../prng.js';
import { type Behaviour, type Emission, HOUR_MS, MINUTE_MS } from './types.js';

/**
 * A device that drops off the network now and then (power cut, flooded cabinet, lost 4G): it goes
 * silent abruptly, so the broker publishes its last will, and comes back later. While it is down
 * the inner behaviour keeps evolving (the river does not wait) but nothing is sent.
 */
export interface OfflineOptions {
  startMs: number;
  /** Mean scenario time between outages. */
  meanUptimeH?: number;
  /** Outage length range, scenario minutes. */
  downtimeMin?: readonly [number, number];
  /** First outage no earlier than this after the start (gives the device time to be seen online). */
  firstAfterMin?: number;
}

export function withOutages(inner: Behaviour, rng: Rng, opts: OfflineOptions): Behaviour {
  const meanUp = (opts.meanUptimeH ?? 2) * HOUR_MS;
  const [dMin, dMax] = opts.downtimeMin ?? [10, 40];
  let nextDown = opts.startMs + (opts.firstAfterMin ?? 5) * MINUTE_MS + rng.exponential(meanUp);
  // Outages so far that may still cover [from, to]: [downAt, upAt).
  let current: readonly [number, number] | undefined;
  return {
    tick(from, to) {
      const outages: (readonly [number, number])[] = current ? [current] : [];
      const out: Emission[] = [];
      while (nextDown <= to) {
        const up = nextDown + rng.range(dMin, dMax) * MINUTE_MS;
        out.push({ kind: 'offline', at: nextDown, untilMs: up });
        current = [nextDown, up];
        outages.push(current);
        nextDown = up + rng.exponential(meanUp);
      }
      for (const e of inner.tick(from, to)) {
        if (!outages.some(([down, up]) => e.at >= down && e.at < up)) out.push(e);
      }
      return out.sort((a, b) => a.at - b.at);
    },
  };
}
