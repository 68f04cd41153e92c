import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CHECKPOINT_FILE, type IntakeLogConfig } from './intake-log.js';

/** The intake log (intake-log.ts), and what tells when readings handed on are durable downstream. */
export interface IntakeWiring {
  log: IntakeLogConfig;
  /** Resolves once everything the pipeline wrote before the call is in the database or the spool. */
  settled(): Promise<void>;
}

/**
 * The gateway's side of an intake log; the edge thread owns the segments. After each message batch
 * is emitted (the pipeline writes its readings synchronously) it asks the writer when they are
 * durable, then moves the checkpoint past the batch and tells the thread (`tell`), which deletes
 * what is wholly below. The checkpoint is written here because this side learns it, also after the
 * thread has ended (a clean stop): 8 bytes of sequence number and a CRC, rewritten in place. A
 * lost or damaged checkpoint only replays more (duplicates), never less.
 */
export class IntakeCheckpoint {
  /** The highest sequence number asked about, and the highest known durable. */
  #asked = 0;
  #durable = 0;
  #writing = false;
  #fd: number | undefined;
  readonly #buf = Buffer.alloc(12);

  constructor(
    private readonly wiring: IntakeWiring,
    /** The thread, told the new checkpoint. */
    private readonly tell: (seq: number) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Messages handed on whose readings are not yet confirmed durable. */
  get unsettled(): number {
    return this.#asked - this.#durable;
  }

  /** A batch was emitted; every logged message below `seq` was in it or before it. */
  afterBatch(seq: number | undefined): void {
    if (seq === undefined || seq <= this.#asked) return;
    this.#asked = seq;
    void this.wiring.settled().then(() => this.#settled(seq));
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Many batches settle at once (one database request): the checkpoint is written once for them all. */
  #settled(seq: number): void {
    if (seq <= this.#durable) return;
    this.#durable = seq;
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(this.#write);
  }

  readonly #write = (): void => {
    this.#writing = false;
    try {
      this.#fd ??= openSync(join(this.wiring.log.dir, CHECKPOINT_FILE), 'w', 0o600);
      this.#buf.writeDoubleLE(this.#durable, 0);
      this.#buf.writeUInt32LE(crc32(this.#buf.subarray(0, 8)), 8);
      writeSync(this.#fd, this.#buf, 0, 12, 0);
    } catch (err) {
      // Only costs duplicates after a crash: the log replays from the last checkpoint written.
      this.onError(new Error(`mqtt intake checkpoint could not be written: ${String(err)}`, { cause: err }));
      return;
    }
    this.tell(this.#durable);
  };
}
