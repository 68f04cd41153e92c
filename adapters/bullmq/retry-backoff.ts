/** A retry timer whose delay doubles from `minMs` to `maxMs` until `reset()` (a success). */
export class RetryBackoff {
  private timer: NodeJS.Timeout | undefined;
  private delay: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.delay = minMs;
  }

  /** A retry is scheduled and has not run yet. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Run `fn` after the current delay, which then doubles; nothing if a retry is already scheduled. */
  schedule(fn: () => void): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, this.delay);
    this.timer.unref();
    this.delay = Math.min(this.delay * 2, this.maxMs);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Start again from the shortest delay. */
  reset(): void {
    this.delay = this.minMs;
  }
}
