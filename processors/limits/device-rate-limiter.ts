import { type Clock, systemClock } from '../types.js';
import { type BucketRate, TokenBucket } from './token-bucket.js';

/**
 * Per-device message rate (issue 4, Security: "a device that floods is throttled and flagged, and
 * the other devices' readings keep flowing at full speed"). One token bucket per device; a message
 * that finds its bucket empty is refused (the caller rejects it with reason `rate_limited`) and the
 * device is flagged with counts and first/last times.
 *
 * Memory is bounded on both maps. Buckets: past `maxDevices`, buckets that have refilled
 * completely are dropped (a full bucket and a new one behave the same, so nothing is lost); if all
 * are busy, the oldest go. Flags: at most `maxFlagged`, the least recently throttled go first.
 */

export interface DeviceRateLimiterOptions extends BucketRate {
  /** Buckets kept before idle ones are swept. Default 100 000. */
  maxDevices?: number;
  /** Flagged devices remembered. Default 1000. */
  maxFlagged?: number;
  clock?: Clock;
  /** Called the first time a device is throttled (and again after it has dropped off the list). */
  onFlag?(deviceId: string, at: number): void;
}

export interface FlaggedDevice {
  deviceId: string;
  /** Messages refused. */
  throttled: number;
  /** Epoch ms of the first and latest refusal. */
  firstAt: number;
  lastAt: number;
}

export interface RateLimiterStats {
  admitted: number;
  throttled: number;
  /** Buckets held now. */
  devices: number;
  flagged: number;
  /** Buckets dropped while still refilling, because maxDevices busy devices were held. */
  evictedBusy: number;
}

export class DeviceRateLimiter {
  readonly #rate: BucketRate;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #flags = new Map<string, FlaggedDevice>();
  readonly #maxDevices: number;
  readonly #maxFlagged: number;
  readonly #clock: Clock;
  readonly #onFlag: DeviceRateLimiterOptions['onFlag'];
  #admitted = 0;
  #throttled = 0;
  #evictedBusy = 0;

  constructor(opts: DeviceRateLimiterOptions) {
    this.#rate = { ratePerS: opts.ratePerS, burst: opts.burst };
    // Fail at construction, not on the first message.
    new TokenBucket(this.#rate, 0);
    this.#maxDevices = opts.maxDevices ?? 100_000;
    this.#maxFlagged = opts.maxFlagged ?? 1000;
    this.#clock = opts.clock ?? systemClock;
    this.#onFlag = opts.onFlag;
  }

  /** True when the device may send this message now; false = throttled (counted, device flagged). */
  admit(deviceId: string, now: number = this.#clock.now()): boolean {
    let bucket = this.#buckets.get(deviceId);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxDevices) this.#sweep(now);
      bucket = new TokenBucket(this.#rate, now);
      this.#buckets.set(deviceId, bucket);
    }
    if (bucket.take(now)) {
      this.#admitted++;
      return true;
    }
    this.#throttled++;
    this.#flag(deviceId, now);
    return false;
  }

  /** Throttled devices, most recently throttled first. */
  flagged(): FlaggedDevice[] {
    return [...this.#flags.values()].reverse().map((f) => ({ ...f }));
  }

  /** Clears a device's flag (e.g. once an installer has fixed its reporting interval). */
  unflag(deviceId: string): boolean {
    return this.#flags.delete(deviceId);
  }

  stats(): RateLimiterStats {
    return {
      admitted: this.#admitted,
      throttled: this.#throttled,
      devices: this.#buckets.size,
      flagged: this.#flags.size,
      evictedBusy: this.#evictedBusy,
    };
  }

  #flag(deviceId: string, now: number): void {
    const f = this.#flags.get(deviceId);
    if (f) {
      f.throttled++;
      f.lastAt = now;
      // Re-insert so Map order is least recently throttled first.
      this.#flags.delete(deviceId);
      this.#flags.set(deviceId, f);
      return;
    }
    if (this.#flags.size >= this.#maxFlagged) {
      const oldest = this.#flags.keys().next();
      if (!oldest.done) this.#flags.delete(oldest.value);
    }
    this.#flags.set(deviceId, { deviceId, throttled: 1, firstAt: now, lastAt: now });
    this.#onFlag?.(deviceId, now);
  }

  #sweep(now: number): void {
    for (const [id, b] of this.#buckets) if (b.isFull(now)) this.#buckets.delete(id);
    // Every held device is busy: drop the oldest tenth rather than grow without bound.
    if (this.#buckets.size >= this.#maxDevices) {
      let drop = Math.max(1, Math.floor(this.#maxDevices / 10));
      for (const id of this.#buckets.keys()) {
        if (drop-- <= 0) break;
        this.#buckets.delete(id);
        this.#evictedBusy++;
      }
    }
  }
}
