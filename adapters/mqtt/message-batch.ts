/**
 * MQTT messages packed into one buffer to cross threads (mqtt-io-thread.ts -> the gateway's thread):
 * per message a u16 topic length, the topic as UTF-8, a u32 payload length, the payload. One
 * transferred buffer per batch instead of a structured clone per message.
 */
export class MessageBatchWriter {
  #buf: Buffer;
  #off = 0;
  #count = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#off;
  }

  add(topic: string, payload: Uint8Array): void {
    // A topic is at most 65,535 bytes of UTF-8 (MQTT 3.1.1 §1.5.3), so 3 bytes per UTF-16 unit is a safe bound.
    this.#reserve(6 + topic.length * 3 + payload.length);
    const buf = this.#buf;
    const topicBytes = buf.write(topic, this.#off + 2, 'utf8');
    buf.writeUInt16LE(topicBytes, this.#off);
    let off = this.#off + 2 + topicBytes;
    buf.writeUInt32LE(payload.length, off);
    off += 4;
    buf.set(payload, off);
    this.#off = off + payload.length;
    this.#count++;
  }

  /** The batch so far in an ArrayBuffer of its own (to transfer); the writer starts over. */
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

/** Calls `each` for every message of a batch, in order; payloads are views into the batch. */
export function readMessageBatch(
  buffer: ArrayBuffer,
  byteLength: number,
  each: (topic: string, payload: Buffer) => void,
): void {
  const buf = Buffer.from(buffer, 0, byteLength);
  let off = 0;
  while (off < byteLength) {
    const topicEnd = off + 2 + buf.readUInt16LE(off);
    const topic = buf.toString('utf8', off + 2, topicEnd);
    const start = topicEnd + 4;
    const end = start + buf.readUInt32LE(topicEnd);
    each(topic, buf.subarray(start, end));
    off = end;
  }
}
