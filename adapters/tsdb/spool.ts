/**
 * Where line-protocol batches go when the database stays down past the client's retries, to be
 * re-sent once it is back. The in-memory one is bounded; a disk spool (later issue) implements the
 * same interface.
 */
export interface Spool {
  push(lines: string[]): Promise<void>;
  /** Yields and removes batches, oldest first; a batch the consumer cannot send it pushes back. */
  drain(): AsyncIterable<string[]>;
  /** Lines currently held. */
  readonly lines: number;
  /** Lines discarded because the spool was full. */
  readonly droppedLines: number;
}

/** Keeps at most `maxLines`; when full, the oldest batches are dropped (newest data matters most). */
export class MemorySpool implements Spool {
  private readonly batches: string[][] = [];
  private held = 0;
  private dropped = 0;

  constructor(private readonly maxLines: number) {}

  get lines(): number {
    return this.held;
  }

  get droppedLines(): number {
    return this.dropped;
  }

  async push(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    this.batches.push(lines);
    this.held += lines.length;
    while (this.held > this.maxLines) {
      const oldest = this.batches.shift();
      if (!oldest) break;
      this.held -= oldest.length;
      this.dropped += oldest.length;
    }
  }

  async *drain(): AsyncIterable<string[]> {
    for (;;) {
      const batch = this.batches.shift();
      if (!batch) return;
      this.held -= batch.length;
      yield batch;
    }
  }
}
