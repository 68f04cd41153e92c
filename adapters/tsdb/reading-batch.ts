import type { Reading } from '../../processors/types.js';
import { type LineBuffer, uninitialized } from './line-buffer.js';
import { type FieldKey, fieldKey, prefixOf } from './line-protocol.js';

/**
 * Readings on their way to the writer thread (ThreadedInfluxWriter -> writer-thread.ts), taken apart
 * instead of written out: per reading, the number of its `measurement,tags` prefix, its field count
 * and each field's number (a Uint32Array), its time and field values (a Float64Array). The writer
 * thread makes the line-protocol bytes (LineBuffer.appendParts), so the number formatting and the
 * byte copying of a line run on the thread that is idle, not on the one that takes messages in
 * (bench/pipeline-micro.ts measures both).
 *
 * Prefixes and field names are numbered as they first appear. A batch carries the definitions its
 * reader has not seen; a new reader (a restarted thread) is sent all of them again (`restart`).
 * The tables are bounded: past their size they start over, and the batch after that tells the
 * reader to forget (`reset`). The reader must see one writer's batches in order.
 */

/** One batch, as posted to the writer thread (all of it structured-cloneable; the two buffers are transferred). */
export interface ReadingBatch {
  /** Per reading: prefix number, field count n, n field numbers (the buffer may run on past the last). */
  ints: ArrayBuffer;
  /** Per reading: time, n values. */
  nums: ArrayBuffer;
  /** Readings (= lines) in the batch. */
  lines: number;
  /** Forget every definition before applying these. */
  reset: boolean;
  /** Prefixes numbered from `prefixFrom`, as UTF-8. */
  prefixFrom: number;
  prefixes: Uint8Array[];
  /** Field names numbered from `keyFrom`. */
  keyFrom: number;
  keys: string[];
  /** A mark the thread reports `settled` once these lines and every one before are (threaded-writer.ts). */
  mark?: number;
}

/** Distinct prefixes (a device's `measurement,tags`) numbered before the tables start over. */
const MAX_PREFIXES = 32_768;
/** Distinct field names numbered before the tables start over (the catalogue has a few dozen). */
const MAX_KEYS = 4_096;
/** Fields of one reading at most between capacity checks (a reading has a few; more only costs a check). */
const ROOM = 64;

export class ReadingBatchWriter {
  #ints: Uint32Array;
  #nums: Float64Array;
  #ni = 0;
  #nn = 0;
  #lines = 0;
  readonly #prefixIds = new Map<Uint8Array, number>();
  readonly #prefixes: Uint8Array[] = [];
  readonly #keyIds = new Map<string, number>();
  readonly #keys: string[] = [];
  /** Definitions the reader has: everything below these. */
  #prefixesSent = 0;
  #keysSent = 0;
  #reset = false;
  readonly #maxPrefixes: number;

  constructor(initialReadings = 2048, maxPrefixes = MAX_PREFIXES) {
    this.#ints = new Uint32Array(uninitialized(initialReadings * 8 * 4));
    this.#nums = new Float64Array(uninitialized(initialReadings * 6 * 8));
    this.#maxPrefixes = maxPrefixes;
  }

  get lines(): number {
    return this.#lines;
  }

  /** Numbered prefixes held now (bounded by the constructor's maxPrefixes). */
  get prefixes(): number {
    return this.#prefixes.length;
  }

  /** Appends the reading; false (nothing written) when it has no finite field, so makes no line. */
  append(r: Reading): boolean {
    const fields = r.fields;
    this.#room(2 + ROOM, 1 + ROOM);
    let ints = this.#ints;
    let nums = this.#nums;
    const head = this.#ni;
    const time = this.#nn;
    let ni = head + 2;
    let nn = time + 1;
    for (const name in fields) {
      const v = fields[name]!;
      if (!Number.isFinite(v)) continue;
      if (ni >= ints.length || nn >= nums.length) {
        this.#ni = ni;
        this.#nn = nn;
        this.#room(ROOM, ROOM);
        ints = this.#ints;
        nums = this.#nums;
      }
      ints[ni++] = this.#keyId(name);
      nums[nn++] = v;
    }
    if (ni === head + 2) return false;
    ints[head] = this.#prefixId(prefixOf(r));
    ints[head + 1] = ni - head - 2;
    nums[time] = r.time;
    this.#ni = ni;
    this.#nn = nn;
    this.#lines++;
    return true;
  }

  /** The batch so far, with the definitions its reader lacks; the writer starts over (its numbering stays). */
  take(): ReadingBatch {
    const batch: ReadingBatch = {
      ints: this.#handOver(this.#ints, this.#ni),
      nums: this.#handOver(this.#nums, this.#nn),
      lines: this.#lines,
      reset: this.#reset,
      prefixFrom: this.#prefixesSent,
      prefixes: this.#prefixes.slice(this.#prefixesSent),
      keyFrom: this.#keysSent,
      keys: this.#keys.slice(this.#keysSent),
    };
    this.#ni = 0;
    this.#nn = 0;
    this.#lines = 0;
    this.#reset = false;
    this.#prefixesSent = this.#prefixes.length;
    this.#keysSent = this.#keys.length;
    // Only here, between batches, may the numbering start over: this batch's numbers are defined.
    if (this.#prefixes.length >= this.#maxPrefixes || this.#keys.length >= MAX_KEYS) this.#startOver();
    return batch;
  }

  /**
   * The buffer behind `a` to transfer, whose first `used` items are the batch. At least half full
   * (at full load) it goes as it is, and `a` is replaced by a new one of the same size, not
   * zero-filled: copying it out would cost a memcpy and a zero-filled allocation. Less than half
   * full, the items are copied out, so a small batch never holds a large buffer.
   */
  #handOver(a: Uint32Array | Float64Array, used: number): ArrayBuffer {
    if (used * 2 < a.length) return a.slice(0, used).buffer;
    if (a instanceof Uint32Array) this.#ints = new Uint32Array(uninitialized(a.byteLength));
    else this.#nums = new Float64Array(uninitialized(a.byteLength));
    return a.buffer as ArrayBuffer;
  }

  /** The next batch goes to a new reader: it carries every definition. */
  restart(): void {
    this.#prefixesSent = 0;
    this.#keysSent = 0;
  }

  #startOver(): void {
    this.#prefixIds.clear();
    this.#prefixes.length = 0;
    this.#keyIds.clear();
    this.#keys.length = 0;
    this.#prefixesSent = 0;
    this.#keysSent = 0;
    this.#reset = true;
  }

  #prefixId(prefix: Uint8Array): number {
    return numbered(this.#prefixIds, this.#prefixes, prefix);
  }

  #keyId(name: string): number {
    return numbered(this.#keyIds, this.#keys, name);
  }

  #room(ints: number, nums: number): void {
    this.#ints = grown(this.#ints, this.#ni, ints);
    this.#nums = grown(this.#nums, this.#nn, nums);
  }
}

/** The writer thread's side: the definitions so far, and batches turned into line-protocol bytes. */
export class ReadingBatchReader {
  readonly #prefixes: Uint8Array[] = [];
  readonly #keys: FieldKey[] = [];

  /** Appends the batch's lines to `out` (as LineBuffer.append would have written its readings). */
  read(batch: ReadingBatch, out: LineBuffer): void {
    if (batch.reset) {
      this.#prefixes.length = 0;
      this.#keys.length = 0;
    }
    define(this.#prefixes, batch.prefixFrom, batch.prefixes);
    define(
      this.#keys,
      batch.keyFrom,
      batch.keys.map((name) => fieldKey(name)),
    );
    const ints = new Uint32Array(batch.ints);
    const nums = new Float64Array(batch.nums);
    let ni = 0;
    let nn = 0;
    for (let line = 0; line < batch.lines; line++) {
      const prefix = this.#prefixes[ints[ni]!];
      const n = ints[ni + 1]!;
      if (prefix === undefined) throw new Error(`reading batch refers to prefix ${ints[ni]}, never defined`);
      out.appendParts(prefix, this.#keys, ints, ni + 2, nums, nn + 1, n, nums[nn]!);
      ni += 2 + n;
      nn += 1 + n;
    }
  }
}

/** The number of `item` in the table, given the next one (and listed) when it has none. */
function numbered<T>(ids: Map<T, number>, list: T[], item: T): number {
  let id = ids.get(item);
  if (id === undefined) {
    id = list.length;
    list.push(item);
    ids.set(item, id);
  }
  return id;
}

/** `a`, or when `need` more items do not fit after `used`, a copy at least twice its size. */
function grown<T extends Uint32Array | Float64Array>(a: T, used: number, need: number): T {
  if (used + need <= a.length) return a;
  const Type = a.constructor as new (b: ArrayBuffer) => T;
  const bigger = new Type(uninitialized(a.BYTES_PER_ELEMENT * Math.max(a.length * 2, used + need)));
  bigger.set(a.subarray(0, used));
  return bigger;
}

function define<T>(table: T[], from: number, items: readonly T[]): void {
  if (from > table.length)
    throw new Error(`reading batch defines from ${from}, but ${table.length} are known`);
  for (let i = 0; i < items.length; i++) table[from + i] = items[i]!;
}
