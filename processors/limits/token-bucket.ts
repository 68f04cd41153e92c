/**
 * A token bucket: `burst` tokens, refilled continuously at `ratePerS`. Time is passed in (epoch
 * ms), so a test drives it with a fake clock and the hot path reads the clock once per message.
 */
export interface BucketRate {
  /** Sustained tokens per second. */
  ratePerS: number;
  /** Capacity: how many may be taken at once after a quiet spell. */
  burst: number;
}

export class TokenBucket {
  #tokens: number;
  #at: number;
  readonly #perMs: number;
  readonly #burst: number;

  constructor(rate: BucketRate, now: number) {
    if (!(rate.ratePerS > 0) || !(rate.burst >= 1)) {
      throw new RangeError(
        `token bucket needs ratePerS > 0 and burst >= 1, got ${rate.ratePerS}/${rate.burst}`,
      );
    }
    this.#perMs = rate.ratePerS / 1000;
    this.#burst = rate.burst;
    this.#tokens = rate.burst;
    this.#at = now;
  }

  /** Takes `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Tokens available at `now`. */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** True when the bucket has refilled completely at `now`: forgetting it then loses nothing. */
  isFull(now: number): boolean {
    return this.available(now) >= this.#burst;
  }

  #refill(now: number): void {
    // A clock that steps back (NTP) must not mint tokens nor drain them.
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
      this.#at = now;
    }
  }
}
