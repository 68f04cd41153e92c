/**
 * Failed-login bookkeeping for the broker (issue 4, Security: "repeated failures from one client
 * are throttled"). Per key (a client id, or a remote address) it counts failures inside a window;
 * at `maxFailures` the key is locked for `lockoutMs` and refused before any password hash runs,
 * which also keeps a guessing client from spending the CPU on scrypt. Memory is bounded: at most
 * `maxKeys` entries, expired ones dropped first, then the oldest.
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
