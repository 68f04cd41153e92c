import type { WindowFn, WindowSpec } from './expr.js';

/** A window as persisted: enough to resume it after a restart, already full if it was. */
export interface WindowSnapshot {
  durationMs: number;
  since: number;
  t: number[];
  v: number[];
}

/**
 * Samples of one series over a sliding duration, kept incrementally: a push appends, a read drops
 * what fell out of the window. Arrays are reused (compacted in place), so the per-reading path
 * allocates nothing once warm. Samples older than the newest are ignored (late data cannot reorder
 * a delta).
 */
export class SampleWindow {
  private times: number[] = [];
  private values: number[] = [];
  private head = 0;
  private sum = 0;
  /** When this window first saw data: a window younger than its duration is not yet full. */
  readonly since: number;
  /** The push that last fed it, so two rules sharing a window do not count a reading twice. */
  lastFeed = -1;

  constructor(
    readonly durationMs: number,
    since: number,
  ) {
    this.since = since;
  }

  snapshot(): WindowSnapshot {
    return {
      durationMs: this.durationMs,
      since: this.since,
      t: this.times.slice(this.head),
      v: this.values.slice(this.head),
    };
  }

  static restore(s: WindowSnapshot): SampleWindow {
    const w = new SampleWindow(s.durationMs, s.since);
    for (let i = 0; i < s.t.length; i++) w.push(s.t[i]!, s.v[i]!);
    return w;
  }

  push(time: number, value: number): void {
    const n = this.times.length;
    if (n > this.head && time < this.times[n - 1]!) return;
    this.times.push(time);
    this.values.push(value);
    this.sum += value;
  }

  /** Drop samples at or before `now - duration`. */
  prune(now: number): void {
    const cutoff = now - this.durationMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) {
      this.sum -= this.values[this.head]!;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.values.splice(0, this.head);
      this.head = 0;
      // Re-add from scratch now and then so float drift in the running sum cannot accumulate.
      this.sum = 0;
      for (const v of this.values) this.sum += v;
    }
    if (this.head === this.times.length) this.sum = 0;
  }

  /** True once the window has been observed for its whole duration. */
  full(now: number): boolean {
    return now - this.since >= this.durationMs;
  }

  get size(): number {
    return this.times.length - this.head;
  }

  /** The function's value after pruning to `now`; undefined when it has no value (empty window). */
  read(fn: WindowFn, now: number): number | undefined {
    this.prune(now);
    const n = this.size;
    if (fn === 'count') return n;
    if (fn === 'sum') return this.sum;
    if (n === 0) return undefined;
    const first = this.head;
    const last = this.times.length - 1;
    switch (fn) {
      case 'avg':
        return this.sum / n;
      case 'min': {
        let m = Number.POSITIVE_INFINITY;
        for (let i = first; i <= last; i++) if (this.values[i]! < m) m = this.values[i]!;
        return m;
      }
      case 'max': {
        let m = Number.NEGATIVE_INFINITY;
        for (let i = first; i <= last; i++) if (this.values[i]! > m) m = this.values[i]!;
        return m;
      }
      case 'delta':
        return this.values[last]! - this.values[first]!;
      case 'rate': {
        // Per hour, over the time the samples actually span (rate of rise of a river: m/h).
        const span = this.times[last]! - this.times[first]!;
        return span > 0 ? ((this.values[last]! - this.values[first]!) * 3_600_000) / span : 0;
      }
    }
  }
}

/** Whether a partial window may be trusted: counts and sums only grow, so a partial one is a lower bound. */
export function partialIsLowerBound(spec: WindowSpec): boolean {
  return spec.fn === 'count' || spec.fn === 'sum';
}
