/**
 * Bounds on the broker's login work that no single source decides (see device-auth.ts):
 * a token bucket per kind of secret check, and the set of (address, client id) pairs that logged
 * in successfully, which the per-address backoff and the check budget let through.
 */

export interface TokenBucketOptions {
  /** Tokens added per second; also the burst (one second's worth). */
  perSecond: number;
}

/**
 * A token bucket: `take` succeeds while tokens are left and they refill at `perSecond`. When a
 * flood of logins from many addresses empties it, the broker answers "server unavailable" at the
 * cost of one comparison instead of spending the CPU on hashing every guess.
 */
export class TokenBucket {
  readonly #rate: number;
  #tokens: number;
  /** When tokens were last counted; undefined until the first take. */
  #at: number | undefined;

  constructor(opts: TokenBucketOptions) {
    this.#rate = opts.perSecond;
    this.#tokens = opts.perSecond;
  }

  take(now: number): boolean {
    if (this.#at !== undefined && now > this.#at) {
      this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
    }
    if (this.#at === undefined || now > this.#at) this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export interface KnownPairsOptions {
  /** How long a successful login vouches for its pair. */
  ttlMs: number;
  maxKeys?: number;
}

/**
 * (address, client id) pairs that proved their secret recently. An attacker who knows a device's
 * id cannot open a TCP connection from the device's own address (the handshake needs the reply), so
 * a pair that succeeded before is the real device coming back: failures from others on the same
 * address (a carrier NAT) and a budget spent by a flood must not keep it out. Bounded: past
 * `maxKeys` the least recently seen pair goes.
 */
export class KnownPairs {
  readonly #seen = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #maxKeys: number;

  constructor(opts: KnownPairsOptions) {
    this.#ttlMs = opts.ttlMs;
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  get size(): number {
    return this.#seen.size;
  }

  has(key: string, now: number): boolean {
    const at = this.#seen.get(key);
    if (at === undefined) return false;
    if (now - at <= this.#ttlMs) return true;
    this.#seen.delete(key);
    return false;
  }

  add(key: string, now: number): void {
    this.#seen.delete(key); // re-inserted last: the Map's order is the eviction order
    if (this.#seen.size >= this.#maxKeys) {
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
    this.#seen.set(key, now);
  }
}
