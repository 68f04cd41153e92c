/**
 * Which lines a writer is done with, for callers that must know when what they wrote is durable
 * (the MQTT intake log moves its checkpoint on it). Lines are numbered in the order they reach the
 * writer; a batch is a run of consecutive numbers. Batches finish out of order (one waits for its
 * retry while the next is written), so what counts is the low watermark: every line below it is
 * written, spooled, or given up (refused by the database, or lost with a failed spool push — both
 * counted and logged by the writer; keeping them would hold the caller's log forever).
 */
export class SettledLines {
  /** Lines received; the next line gets this number. */
  #received = 0;
  /** Lines cut into batches so far: the first line not yet in a batch. */
  #cut = 0;
  /** First line of each batch not finished with. */
  readonly #open = new Set<{ readonly from: number }>();
  readonly #waiting = new Waiters();

  /** `lines` more reached the writer. */
  received(lines: number): void {
    this.#received += lines;
  }

  /** The next `lines` received become a batch; the returned token finishes it. */
  cut(lines: number): { readonly from: number } {
    const token = { from: this.#cut };
    this.#cut += lines;
    this.#open.add(token);
    return token;
  }

  finished(token: { readonly from: number }): void {
    if (!this.#open.delete(token)) return;
    this.#waiting.reached(this.#watermark());
  }

  /** Resolves once every line received before this call is finished with. */
  after(): Promise<void> {
    const upTo = this.#received;
    return this.#watermark() >= upTo ? Promise.resolve() : this.#waiting.until(upTo);
  }

  /** Lines received after the writer stopped are given up at once: nothing will settle them. */
  releaseAll(): void {
    this.#open.clear();
    this.#cut = this.#received;
    this.#waiting.reached(this.#watermark());
  }

  #watermark(): number {
    let low = this.#cut;
    for (const b of this.#open) if (b.from < low) low = b.from;
    return low;
  }
}

/** Callers waiting, in the order they asked, for a count that only grows to reach what each waits for. */
export class Waiters {
  readonly #waiting: { upTo: number; resolve: () => void }[] = [];

  /** Resolves once reached() is given `upTo` or more; `upTo` never less than an earlier caller's. */
  until(upTo: number): Promise<void> {
    return new Promise((resolve) => this.#waiting.push({ upTo, resolve }));
  }

  reached(count: number): void {
    const w = this.#waiting;
    let n = 0;
    while (n < w.length && w[n]!.upTo <= count) w[n++]!.resolve();
    w.splice(0, n);
  }
}
