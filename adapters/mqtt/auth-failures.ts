/**
 * Failed-login bookkeeping for the broker (see device-auth.ts for how the pieces combine): failures
 * counted per key, each key waiting as its policy says, and log lines throttled per key. Every map
 * is bounded, so a flood of addresses or client ids costs a fixed amount of memory.
 */

/** Keys held at most per map, unless a map says otherwise. */
const MAX_KEYS = 10_000;

/**
 * Sets `key` as the newest entry of a map holding at most `max` keys. When it is full, the entries
 * `expired` says are done with go first, then the oldest (a Map keeps insertion order).
 */
export function setBounded<V>(
  map: Map<string, V>,
  key: string,
  value: V,
  max: number,
  expired?: (v: V) => boolean,
): void {
  map.delete(key);
  if (map.size >= max) {
    if (expired) for (const [k, v] of map) if (expired(v)) map.delete(k);
    for (const k of map.keys()) {
      if (map.size < max) break;
      map.delete(k);
    }
  }
  map.set(key, value);
}

/** One key's failures. */
export interface Failures {
  failures: number;
  /** Epoch ms of the first failure counted, and of the last. */
  since: number;
  last: number;
  /** Epoch ms until which the key is refused; 0 = it never had to wait. */
  until: number;
}

export interface FailurePolicy {
  /** How long the key waits after its latest failure; 0: it may try again at once. */
  wait(f: Failures): number;
  /** Whether its failures are forgotten at `now`. */
  expired(f: Failures, now: number): boolean;
}

/**
 * `maxFailures` locks the key for `lockoutMs`, once. Failures older than one lockout window are
 * forgotten (a slow trickle is not a guessing attack), and so are those of a lock that has ended.
 */
export function lockout(maxFailures: number, lockoutMs: number): FailurePolicy {
  return {
    wait: (f) => (f.failures >= maxFailures && f.until === 0 ? lockoutMs : 0),
    expired: (f, now) => (f.until === 0 ? now - f.since > lockoutMs : f.until <= now),
  };
}

/**
 * From the `maxFailures`th failure on, each makes the key wait baseMs, 2·baseMs, 4·baseMs, ... up
 * to maxMs before its next attempt is even looked at. Forgotten after two maxMs without a failure.
 */
export function backoff(maxFailures: number, baseMs: number, maxMs: number): FailurePolicy {
  return {
    // 2^n overflows to Infinity long after it passed maxMs; min() keeps that harmless.
    wait: (f) => (f.failures < maxFailures ? 0 : Math.min(maxMs, baseMs * 2 ** (f.failures - maxFailures))),
    expired: (f, now) => now - f.last > 2 * maxMs,
  };
}

/** Failures per key, and how long each key waits, as its policy says. */
export class FailureCounter {
  readonly #entries = new Map<string, Failures>();

  constructor(private readonly policy: FailurePolicy) {}

  /** Epoch ms the key may try again, or 0 when it may try now. */
  blockedUntil(key: string, now: number): number {
    const f = this.#entries.get(key);
    return f && f.until > now ? f.until : 0;
  }

  /** Records a failure; returns the wait it started (0: none). */
  fail(key: string, now: number): number {
    let f = this.#entries.get(key);
    if (!f || this.policy.expired(f, now)) {
      f = { failures: 0, since: now, last: now, until: 0 };
      setBounded(this.#entries, key, f, MAX_KEYS, (e) => this.policy.expired(e, now));
    }
    f.failures++;
    f.last = now;
    const wait = this.policy.wait(f);
    if (wait > 0) f.until = now + wait;
    return wait;
  }

  /** A successful login clears the key's failures. */
  succeed(key: string): void {
    this.#entries.delete(key);
  }
}

/**
 * At most one log line per key per interval (failed logins: keyed by client id and by address, so
 * neither a client cycling its id nor a botnet reusing one floods the log). A suppressed event is
 * counted against the key that held it back and reported on that key's next line, so nothing is
 * lost from the totals.
 */
export class LogThrottle {
  readonly #keys = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = MAX_KEYS,
  ) {}

  /**
   * undefined: do not log (counted as suppressed). A number: log now, reporting that many events
   * suppressed for these keys since their last line.
   */
  admit(keys: readonly string[], now: number): number | undefined {
    for (const k of keys) {
      const e = this.#keys.get(k);
      if (e && e.until > now) {
        e.suppressed++;
        return undefined;
      }
    }
    let suppressed = 0;
    for (const k of keys) {
      suppressed += this.#keys.get(k)?.suppressed ?? 0;
      setBounded(this.#keys, k, { until: now + this.intervalMs, suppressed: 0 }, this.maxKeys);
    }
    return suppressed;
  }
}
