/**
 * MQTT messages packed into one buffer to cross threads (mqtt-io-thread.ts and broker-thread.ts ->
 * the gateway's thread): per message a u32 topic header, the topic as UTF-8 when the header says so,
 * a u32 source (the embedded broker's connection number; 0 from the external client), an f64
 * receive time (ms; 0 = not stamped), a u32 payload length, the payload. One transferred buffer per
 * batch instead of a structured clone per message.
 *
 * Topics repeat (a device sends on the same one or two), so the writer numbers each new topic and
 * later sends only its number; the reader keeps the strings (TopicTable). The gateway's thread then
 * neither decodes a topic per message nor makes a new string of it, and every message of a device
 * carries the same topic string, whose hash and routing are computed once. Only short topics are
 * numbered (a device topic is short: device ids are at most 64 characters) and both tables are
 * bounded in total size, so a publisher sending one-off or huge topics cannot make them grow past
 * a few MB; other topics travel inline. The reader must see the writer's batches in order, with one
 * table per writer, and read every batch to its end (readMessageBatch does, whatever `each` does).
 */

// The header's top two bits say what it is, the low 30 a byte length or a topic number.
/** The topic follows (past the table's bound). */
const INLINE = 0;
/** The topic follows, and takes the next number. */
const DEFINE = 1;
/** The number of a topic defined earlier; no bytes follow. */
const REF = 2;
const KIND = 2 ** 30;
/** Longest topic (UTF-16 units) given a number. */
const MAX_NUMBERED_LENGTH = 128;
/** Characters of numbered topics held at most (~270,000 topics of 30 characters). */
const MAX_NUMBERED_CHARS = 8_000_000;
/** Topic header, source, receive time, payload length. */
const HEAD_BYTES = 4 + 4 + 8 + 4;

/** A batch as it crosses threads: messages in the first byteLength bytes of a transferred buffer. */
export interface MessagesBatch {
  buffer: ArrayBuffer;
  byteLength: number;
  /** With an intake log: every logged message numbered below this is in this batch or an earlier one. */
  seq?: number;
}

export class MessageBatchWriter {
  #buf: Buffer;
  #off = 0;
  #count = 0;
  readonly #ids = new Map<string, number>();
  #chars = 0;
  readonly #maxChars: number;

  constructor(initialBytes = 64 * 1024, maxChars = MAX_NUMBERED_CHARS) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
    this.#maxChars = maxChars;
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#off;
  }

  add(topic: string, payload: Uint8Array, source = 0, at = 0): void {
    const id = this.#ids.get(topic);
    // A topic is at most 65,535 bytes of UTF-8 (MQTT 3.1.1 §1.5.3), so 3 bytes per UTF-16 unit is a safe bound.
    this.#reserve(HEAD_BYTES + (id === undefined ? topic.length * 3 : 0) + payload.length);
    const buf = this.#buf;
    let off = this.#off;
    if (id !== undefined) {
      buf.writeUInt32LE(REF * KIND + id, off);
      off += 4;
    } else {
      const define = topic.length <= MAX_NUMBERED_LENGTH && this.#chars + topic.length <= this.#maxChars;
      if (define) {
        this.#ids.set(topic, this.#ids.size);
        this.#chars += topic.length;
      }
      const topicBytes = buf.write(topic, off + 4, 'utf8');
      buf.writeUInt32LE((define ? DEFINE : INLINE) * KIND + topicBytes, off);
      off += 4 + topicBytes;
    }
    buf.writeUInt32LE(source, off);
    buf.writeDoubleLE(at, off + 4);
    off += 12;
    buf.writeUInt32LE(payload.length, off);
    off += 4;
    buf.set(payload, off);
    this.#off = off + payload.length;
    this.#count++;
  }

  /** The batch so far in an ArrayBuffer of its own (to transfer); the writer starts over (its topic numbers stay). */
  take(): { buffer: ArrayBuffer; byteLength: number; count: number } {
    const out = {
      // allocUnsafe above the pool size (4 kB) gives a plain ArrayBuffer of its own.
      buffer: (this.#buf.buffer as ArrayBuffer).slice(this.#buf.byteOffset, this.#buf.byteOffset + this.#off),
      byteLength: this.#off,
      count: this.#count,
    };
    this.#off = 0;
    this.#count = 0;
    return out;
  }

  #reserve(n: number): void {
    if (this.#off + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#off + n));
    this.#buf.copy(bigger, 0, 0, this.#off);
    this.#buf = bigger;
  }
}

/** The topics a writer has numbered, on the reading side: one per writer (per thread). */
export class TopicTable {
  readonly topics: string[] = [];
}

/**
 * Calls `each` for every message of a batch, in order; payloads are views into the batch. The whole
 * batch is read even when `each` throws (the topics it defines must reach the table, or later
 * numbers would name the wrong topics): the first error from `each` then goes to `onError`, which
 * by default throws it once the batch is read.
 */
export function readMessageBatch(
  buffer: ArrayBuffer,
  byteLength: number,
  table: TopicTable,
  each: (topic: string, payload: Buffer, source: number, at: number) => void,
  onError: (err: unknown) => void = (err) => {
    throw err;
  },
): void {
  let failed: { err: unknown } | undefined;
  const buf = Buffer.from(buffer, 0, byteLength);
  const topics = table.topics;
  let off = 0;
  while (off < byteLength) {
    const head = buf.readUInt32LE(off);
    const kind = head >>> 30;
    const value = head & (KIND - 1);
    off += 4;
    let topic: string;
    if (kind === REF) {
      topic = topics[value] as string;
      if (topic === undefined) throw new Error(`message batch refers to topic ${value}, never defined`);
    } else {
      topic = buf.toString('utf8', off, off + value);
      off += value;
      if (kind === DEFINE) topics.push(topic);
    }
    const source = buf.readUInt32LE(off);
    const at = buf.readDoubleLE(off + 4);
    off += 12;
    const end = off + 4 + buf.readUInt32LE(off);
    try {
      each(topic, buf.subarray(off + 4, end), source, at);
    } catch (err) {
      failed ??= { err };
    }
    off = end;
  }
  if (failed) onError(failed.err);
}
