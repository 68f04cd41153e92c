import type { Reading } from '../../processors/types.js';
import { type FieldKey, fieldKey, prefixOf } from './line-protocol.js';

/**
 * Readings encoded straight into UTF-8 line protocol with millisecond timestamps, each line ending
 * in `\n`. No string per line is built: the cached prefixes (line-protocol.ts) are copied as bytes,
 * and numbers are written as the ASCII of their JS string form (building then joining small strings
 * costs more per line; bench/pipeline-micro.ts compares the two). The bytes are handed to the HTTP
 * request or to another thread as they are.
 */
export class LineBuffer {
  #buf: Uint8Array;
  #off = 0;
  #lines = 0;

  constructor(initialBytes = 256 * 1024) {
    this.#buf = new Uint8Array(uninitialized(initialBytes));
  }

  get lines(): number {
    return this.#lines;
  }

  get bytes(): number {
    return this.#off;
  }

  /** Whether the reading makes a line at all (has a finite field). */
  static hasLine(r: Reading): boolean {
    for (const name in r.fields) if (Number.isFinite(r.fields[name])) return true;
    return false;
  }

  /** Appends the reading's line; false (nothing written) when it has no finite field. */
  append(r: Reading): boolean {
    const prefix = prefixOf(r);
    const fields = r.fields;
    let off = this.#start(prefix);
    const first = off;
    for (const name in fields) {
      const v = fields[name]!;
      if (Number.isFinite(v)) off = this.#field(off, off === first, fieldKey(name), v);
    }
    if (off === first) return false;
    this.#end(off, r.time);
    return true;
  }

  /**
   * The line of a reading taken apart (reading-batch.ts): its prefix, `n` fields whose keys are
   * `keys[ids[at + i]]` and values `values[from + i]` (all finite), and its time. The same bytes as
   * append() writes for the reading.
   */
  appendParts(
    prefix: Uint8Array,
    keys: readonly FieldKey[],
    ids: Uint32Array,
    at: number,
    values: Float64Array,
    from: number,
    n: number,
    time: number,
  ): void {
    let off = this.#start(prefix);
    for (let i = 0; i < n; i++) {
      const k = keys[ids[at + i]!];
      if (k === undefined) throw new Error(`reading batch refers to field ${ids[at + i]}, never defined`);
      off = this.#field(off, i === 0, k, values[from + i]!);
    }
    this.#end(off, time);
  }

  /** Writes `prefix ` at the end and returns the offset after it; #off stays at the line's start until #end. */
  #start(prefix: Uint8Array): number {
    // Room for the prefix and the timestamp; each field checks its own below.
    this.#reserve(prefix.length + 40);
    const off = this.#off + prefix.length;
    this.#buf.set(prefix, this.#off);
    this.#buf[off] = 0x20;
    return off + 1;
  }

  /** `,key=value` (no comma before the first), the value as the key's type wants it. */
  #field(off: number, first: boolean, k: FieldKey, v: number): number {
    const kb = k.bytes;
    // A key, a comma, a number (at most 25 characters as JS writes it), `i`, and the timestamp after.
    if (off + kb.length + 64 > this.#buf.length) {
      // Grow keeping the line so far (offsets stay as they are).
      const start = this.#off;
      this.#off = off;
      this.#reserve(kb.length + 64);
      this.#off = start;
    }
    const buf = this.#buf;
    if (!first) buf[off++] = 0x2c;
    for (let i = 0; i < kb.length; i++) buf[off++] = kb[i]!;
    if (k.int) {
      off = writeNumber(buf, off, Math.round(v));
      buf[off++] = 0x69;
    } else off = writeNumber(buf, off, v);
    return off;
  }

  /** ` time\n`: the line is complete. */
  #end(off: number, time: number): void {
    const buf = this.#buf;
    buf[off++] = 0x20;
    off = writeNumber(buf, off, Math.round(time));
    buf[off++] = 0x0a;
    this.#off = off;
    this.#lines++;
  }

  /**
   * The lines so far in a buffer of their own (to transfer; the first `byteLength` bytes are the
   * lines), and an empty buffer to go on. A buffer at least half full is handed over as it is and
   * replaced by a fresh one of the same size: copying it would cost a memcpy and a zero-filled
   * allocation. Less than half full, the lines are copied out, so a small hand-over never holds a
   * large buffer.
   */
  take(): { buffer: ArrayBuffer; byteLength: number; lines: number } {
    const whole = this.#off * 2 >= this.#buf.length;
    const buffer = whole ? (this.#buf.buffer as ArrayBuffer) : this.#buf.slice(0, this.#off).buffer;
    const out = { buffer, byteLength: this.#off, lines: this.#lines };
    if (whole) this.#buf = new Uint8Array(uninitialized(this.#buf.length));
    this.#off = 0;
    this.#lines = 0;
    return out;
  }

  #reserve(n: number): void {
    if (this.#off + n <= this.#buf.length) return;
    const bigger = new Uint8Array(uninitialized(Math.max(this.#buf.length * 2, this.#off + n)));
    bigger.set(this.#buf.subarray(0, this.#off));
    this.#buf = bigger;
  }
}

/** An ArrayBuffer of its own (transferable), not zero-filled: every byte handed out is written first. */
export function uninitialized(bytes: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
}

/**
 * A finite number as JS writes it (String(v)), in ASCII, without making a string for the usual
 * values: integers below 2^53 (counts, dB, epoch-ms timestamps) digit by digit, and decimals with
 * up to three places below 10^9 (1.25 m, 40.5 µg/m³) as an integer and a point. A decimal takes that path only
 * when v is exactly the double nearest to n / 10^k with the fewest places k that give it back, which
 * is the number String(v) writes (ECMAScript Number::toString: the shortest digits that round-trip).
 * Anything else (more places, exponents, -0) goes through String().
 */
export function writeNumber(buf: Uint8Array, off: number, v: number): number {
  if (Number.isSafeInteger(v)) {
    if (v !== 0 || !Object.is(v, -0)) return integer(buf, off, v);
  } else if (v > -1e9 && v < 1e9 && (v >= 1e-3 || v <= -1e-3)) {
    for (let k = 1, scale = 10; k <= 3; k++, scale *= 10) {
      const n = Math.round(v * scale);
      if (n / scale !== v) continue;
      let a = n < 0 ? -n : n;
      if (n < 0) buf[off++] = 0x2d;
      const whole = Math.floor(a / scale);
      off = integer(buf, off, whole);
      buf[off++] = 0x2e;
      a -= whole * scale;
      for (let d = scale / 10; d >= 1; d /= 10) {
        const digit = Math.floor(a / d);
        buf[off++] = 0x30 + digit;
        a -= digit * d;
      }
      return off;
    }
  }
  const s = String(v);
  for (let i = 0; i < s.length; i++) buf[off++] = s.charCodeAt(i);
  return off;
}

/** A safe integer's decimal digits. */
function integer(buf: Uint8Array, off: number, v: number): number {
  if (v < 0) {
    buf[off++] = 0x2d;
    v = -v;
  }
  if (v < SMI) return digits(buf, off, v);
  // Above 2^31 (epoch-ms timestamps): the high part, then the low nine digits zero-padded, each in
  // small-integer arithmetic (v < 2^53, so the high part is below 2^31 too).
  const high = Math.floor(v / 1e9);
  let low = v - high * 1e9;
  off = digits(buf, off, high);
  for (let end = off + 9; end > off; ) {
    const q = (low / 10) | 0;
    buf[--end] = 0x30 + (low - q * 10);
    low = q;
  }
  return off + 9;
}

const SMI = 2 ** 31;

/** 0 <= v < 2^31. */
function digits(buf: Uint8Array, off: number, v: number): number {
  let n = 1;
  for (let p = 10; p <= v; p *= 10) n++;
  let end = off + n;
  while (v >= 10) {
    const q = (v / 10) | 0;
    buf[--end] = 0x30 + (v - q * 10);
    v = q;
  }
  buf[--end] = 0x30 + v;
  return off + n;
}
