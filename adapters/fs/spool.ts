/** Lines to send (line protocol, or the alert outbox's JSON): UTF-8, each ending in `\n`, and how many. */
export interface LineBatch {
  readonly body: Uint8Array;
  readonly lines: number;
}

/** What a spool holds and has lost, for `/metrics` and health. */
export interface SpoolStats {
  /** Lines held, waiting to be sent. */
  lines: number;
  /** Batches held. */
  records: number;
  /** Bytes the spool's files take on disk (sent batches of a segment still in use included). */
  bytes: number;
  /** When the oldest held batch was spooled (epoch ms); undefined when empty. */
  oldestAt: number | undefined;
  /** Lines discarded because the spool was full (oldest first). */
  droppedLines: number;
  /** Damaged records skipped (a bad checksum in the middle of a segment). */
  corruptRecords: number;
  /** Incomplete last records found at start (a crash mid-write), cut off. */
  tornRecords: number;
  /**
   * Why the spool could not be opened (its folder locked by another gateway, not writable, ...):
   * batches the database does not take are then lost. Undefined while it works.
   */
  openError?: string | undefined;
}

export const EMPTY_SPOOL_STATS: Readonly<SpoolStats> = {
  lines: 0,
  records: 0,
  bytes: 0,
  oldestAt: undefined,
  droppedLines: 0,
  corruptRecords: 0,
  tornRecords: 0,
};
