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
  /** Callers waiting, in the order they asked, for the watermark to reach `upTo`. */
  readonly #waiting: { upTo: number; resolve: () => void }[] = [];

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
    this.#wake();
  }

  /** Resolves once every line received before this call is finished with. */
  after(): Promise<void> {
    const upTo = this.#received;
    if (this.#watermark() >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ upTo, resolve }));
  }

  /** Lines received after the writer stopped are given up at once: nothing will settle them. */
  releaseAll(): void {
    this.#open.clear();
    this.#cut = this.#received;
    this.#wake();
  }

  #watermark(): number {
    let low = this.#cut;
    for (const b of this.#open) if (b.from < low) low = b.from;
    return low;
  }

  #wake(): void {
    const w = this.#waiting;
    if (w.length === 0) return;
    const low = this.#watermark();
    let n = 0;
    while (n < w.length && (w[n] as { upTo: number }).upTo <= low)
      (w[n++] as { resolve: () => void }).resolve();
    if (n > 0) w.splice(0, n);
  }
}
