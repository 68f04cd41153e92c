/**
 * Failed-login bookkeeping for the broker (see device-auth.ts for how the pieces combine).
 *
 * FailureTracker: per key (an address with a client id) it counts failures inside a window; at
 * `maxFailures` the key is locked for `lockoutMs` and refused before any hash runs. Memory is
 * bounded: at most `maxKeys` entries, expired ones dropped first, then the oldest.
 */

interface Entry {
  failures: number;
  /** Epoch ms of the first failure in the current window. */
  since: number;
  /** Epoch ms until which the key is refused; 0 = not locked. */
  lockedUntil: number;
}

export interface FailureTrackerOptions {
  maxFailures: number;
  lockoutMs: number;
  maxKeys?: number;
}

export class FailureTracker {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #lockoutMs: number;
  readonly #maxKeys: number;

  constructor(opts: FailureTrackerOptions) {
    this.#max = opts.maxFailures;
    this.#lockoutMs = opts.lockoutMs;
    this.#maxKeys = opts.maxKeys ?? 10_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Epoch ms the lock ends, or 0 when the key may try. */
  lockedUntil(key: string, now: number): number {
    const e = this.#entries.get(key);
    if (!e || e.lockedUntil <= now) return 0;
    return e.lockedUntil;
  }

  /** Records a failure; returns true when this failure locked the key. */
  fail(key: string, now: number): boolean {
    let e = this.#entries.get(key);
    // Failures older than one lockout window are forgotten: a slow trickle is not a guessing attack.
    if (e && (now - e.since > this.#lockoutMs || (e.lockedUntil !== 0 && e.lockedUntil <= now))) {
      this.#entries.delete(key);
      e = undefined;
    }
    if (!e) {
      this.#makeRoom(now);
      e = { failures: 0, since: now, lockedUntil: 0 };
      this.#entries.set(key, e);
    }
    e.failures++;
    if (e.failures >= this.#max && e.lockedUntil === 0) {
      e.lockedUntil = now + this.#lockoutMs;
      return true;
    }
    return false;
  }

  /** A successful login clears the key's failures. */
  succeed(key: string): void {
    this.#entries.delete(key);
  }

  #makeRoom(now: number): void {
    if (this.#entries.size < this.#maxKeys) return;
    for (const [k, e] of this.#entries) {
      const expired = e.lockedUntil === 0 ? now - e.since > this.#lockoutMs : e.lockedUntil <= now;
      if (expired) this.#entries.delete(k);
    }
    // Still full of live entries: drop the oldest (Map keeps insertion order).
    while (this.#entries.size >= this.#maxKeys) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }
}

export interface AddressBackoffOptions {
  /** The failure that starts the backoff (the ones before it are free). */
  maxFailures: number;
  /** The first wait; each further failure doubles it. */
  baseMs: number;
  /** The longest wait (config lockoutS). */
  maxMs: number;
  maxKeys?: number;
}

/**
 * Backoff per remote address, over all the client ids it tries: from its `maxFailures`th failure on, each
 * makes the address wait baseMs, 2·baseMs, 4·baseMs, ... up to maxMs before its next attempt is
 * even looked at. A scanner cycling through device ids slows to one guess per maxMs; a device whose
 * secret is wrong is stopped sooner by its own (address, id) lock and stops adding to the count.
 * Forgotten after two maxMs without a failure. Bounded like FailureTracker.
 */
export class AddressBackoff {
  readonly #entries = new Map<string, { failures: number; last: number; until: number }>();
  readonly #opts: Required<AddressBackoffOptions>;

  constructor(opts: AddressBackoffOptions) {
    this.#opts = { maxKeys: 10_000, ...opts };
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Epoch ms the address may try again, or 0 when it may try now. */
  blockedUntil(address: string, now: number): number {
    const e = this.#entries.get(address);
    return e && e.until > now ? e.until : 0;
  }

  /** Records a failure; returns the wait it started (0: still within the free failures). */
  fail(address: string, now: number): number {
    let e = this.#entries.get(address);
    if (e && now - e.last > 2 * this.#opts.maxMs) {
      this.#entries.delete(address);
      e = undefined;
    }
    if (!e) {
      if (this.#entries.size >= this.#opts.maxKeys) this.#evict(now);
      e = { failures: 0, last: now, until: 0 };
      this.#entries.set(address, e);
    }
    e.failures++;
    e.last = now;
    const over = e.failures - this.#opts.maxFailures;
    if (over < 0) return 0;
    // 2^over overflows to Infinity long after it passed maxMs; min() keeps that harmless.
    const wait = Math.min(this.#opts.maxMs, this.#opts.baseMs * 2 ** over);
    e.until = now + wait;
    return wait;
  }

  #evict(now: number): void {
    for (const [k, e] of this.#entries) {
      if (now - e.last > 2 * this.#opts.maxMs) this.#entries.delete(k);
    }
    while (this.#entries.size >= this.#opts.maxKeys) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }
}

export interface LogThrottleOptions {
  /** At most one line per key per interval. */
  intervalMs: number;
  maxKeys?: number;
}

/**
 * At most one log line per key per interval (failed logins: keyed by client id and by address, so
 * neither a client cycling its id nor a botnet reusing one floods the log). A suppressed event is
 * counted against the key that held it back and reported on that key's next line, so nothing is
 * lost from the totals. Bounded like FailureTracker: past `maxKeys`, the oldest key goes.
 */
export class LogThrottle {
  readonly #keys = new Map<string, { until: number; suppressed: number }>();
  readonly #intervalMs: number;
  readonly #maxKeys: number;

  constructor(opts: LogThrottleOptions) {
    this.#intervalMs = opts.intervalMs;
    this.#maxKeys = opts.maxKeys ?? 10_000;
  }

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
      this.#keys.delete(k); // re-inserted last: the Map's order is the eviction order
      if (this.#keys.size >= this.#maxKeys) {
        const oldest = this.#keys.keys().next();
        if (!oldest.done) this.#keys.delete(oldest.value);
      }
      this.#keys.set(k, { until: now + this.#intervalMs, suppressed: 0 });
    }
    return suppressed;
  }
}
