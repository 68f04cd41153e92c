/** Line protocol ready to send: UTF-8, each line ending in `\n`, and how many lines that is. */
export interface LineBatch {
  readonly body: Uint8Array;
  readonly lines: number;
}

/**
 * Where line-protocol batches go when the database stays down past the writer's retries, to be
 * re-sent once it is back. The in-memory one is bounded; a disk spool (later issue) implements the
 * same interface.
 */
export interface Spool {
  push(batch: LineBatch): Promise<void>;
  /** Yields and removes batches, oldest first; a batch the consumer cannot send it pushes back. */
  drain(): AsyncIterable<LineBatch>;
  /** Lines currently held. */
  readonly lines: number;
  /** Lines discarded because the spool was full. */
  readonly droppedLines: number;
}

/** Keeps at most `maxLines`; when full, the oldest batches are dropped (newest data matters most). */
export class MemorySpool implements Spool {
  private readonly batches: LineBatch[] = [];
  private held = 0;
  private dropped = 0;

  constructor(private readonly maxLines: number) {}

  get lines(): number {
    return this.held;
  }

  get droppedLines(): number {
    return this.dropped;
  }

  async push(batch: LineBatch): Promise<void> {
    if (batch.lines === 0) return;
    this.batches.push(batch);
    this.held += batch.lines;
    while (this.held > this.maxLines) {
      const oldest = this.batches.shift();
      if (!oldest) break;
      this.held -= oldest.lines;
      this.dropped += oldest.lines;
    }
  }

  async *drain(): AsyncIterable<LineBatch> {
    for (;;) {
      const batch = this.batches.shift();
      if (!batch) return;
      this.held -= batch.lines;
      yield batch;
    }
  }
}
