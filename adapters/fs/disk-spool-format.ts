import { crc32 } from 'node:zlib';
import { chmod, type File, mkdir, openFile } from './file.js';

/**
 * The disk spool's record format. A segment file is a run of records, each:
 *
 *   offset 0  magic      4 bytes  F5 53 50 4C
 *          4  length     u32 LE   payload bytes
 *          8  lines      u32 LE   lines in the payload
 *         12  spooledAt  f64 LE   epoch ms
 *         20  crc        u32 LE   CRC-32 (zlib) of bytes 4..20 and the payload
 *         24  payload    lines, UTF-8 (line protocol; the alert outbox's JSON lines)
 *
 * The magic starts with 0xF5, a byte that never occurs in UTF-8 (RFC 3629 §1), so it can never
 * appear inside a payload: after a damaged record the reader finds the next one by searching for
 * the magic and checking that record's CRC.
 */
export const MAGIC = Buffer.from([0xf5, 0x53, 0x50, 0x4c]);
export const HEADER_BYTES = 24;
/** No batch comes near this (tsdb.batchSize is at most 100 000 lines); a larger length is damage. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;
/** Read-ahead of the segment reader: records are parsed out of one buffer this size. */
const CHUNK_BYTES = 1024 * 1024;

export function encodeHeader(payload: Uint8Array, lines: number, at: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(payload.byteLength, 4);
  h.writeUInt32LE(lines, 8);
  h.writeDoubleLE(at, 12);
  h.writeUInt32LE(crc32(payload, crc32(h.subarray(4, 20))), 20);
  return h;
}

export interface SpooledRecord {
  /** Where the next record starts. */
  end: number;
  lines: number;
  at: number;
  /** A view into the reader's buffer: valid until the next read. */
  payload: Buffer;
}

export type ReadResult =
  | { kind: 'record'; record: SpooledRecord }
  /** Nothing more up to the limit. */
  | { kind: 'end' }
  /** Damaged bytes from `start`; the next valid record starts at `next`. */
  | { kind: 'corrupt'; start: number; next: number }
  /** From `start` to the limit there is no complete valid record: an interrupted write. */
  | { kind: 'torn'; start: number };

/**
 * Reads records of one segment file in order, through a read-ahead buffer, so memory holds at most
 * one chunk or one record, whatever the file's size. `limit()` is how far the file holds complete
 * records (it grows while the segment is appended to).
 */
export class SegmentReader {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  /** File offset of buf[0], and how many bytes of buf are valid. */
  private from = 0;
  private filled = 0;

  constructor(
    private readonly fh: File,
    private readonly limit: () => number,
  ) {}

  async read(pos: number): Promise<ReadResult> {
    if (pos >= this.limit()) return { kind: 'end' };
    const found = await this.recordAt(pos);
    if (found) return { kind: 'record', record: found };
    const next = await this.resync(pos + 1);
    return next === undefined ? { kind: 'torn', start: pos } : { kind: 'corrupt', start: pos, next };
  }

  /** A valid record at `pos`, or undefined. */
  private async recordAt(pos: number): Promise<SpooledRecord | undefined> {
    const h = await this.view(pos, HEADER_BYTES);
    if (!h?.subarray(0, 4).equals(MAGIC)) return undefined;
    const length = h.readUInt32LE(4);
    if (length > MAX_PAYLOAD_BYTES) return undefined;
    const lines = h.readUInt32LE(8);
    const at = h.readDoubleLE(12);
    const crc = h.readUInt32LE(20);
    const whole = await this.view(pos, HEADER_BYTES + length);
    if (!whole) return undefined;
    const payload = whole.subarray(HEADER_BYTES);
    if (crc32(payload, crc32(whole.subarray(4, 20))) !== crc) return undefined;
    return { end: pos + HEADER_BYTES + length, lines, at, payload };
  }

  /** The start of the next valid record at or after `pos`, or undefined if none before the limit. */
  private async resync(pos: number): Promise<number | undefined> {
    let at = pos;
    while (at + HEADER_BYTES <= this.limit()) {
      const window = await this.view(at, Math.min(CHUNK_BYTES, this.limit() - at));
      if (!window) return undefined;
      const i = window.indexOf(MAGIC);
      if (i < 0) {
        // The magic may straddle the window's end: look again from its last 3 bytes.
        at += Math.max(1, window.length - (MAGIC.length - 1));
        continue;
      }
      if (await this.recordAt(at + i)) return at + i;
      at += i + 1;
    }
    return undefined;
  }

  /** Bytes [pos, pos + n) of the file, or undefined when the limit comes first. */
  private async view(pos: number, n: number): Promise<Buffer | undefined> {
    if (pos + n > this.limit()) return undefined;
    if (pos >= this.from && pos + n <= this.from + this.filled) {
      return this.buf.subarray(pos - this.from, pos - this.from + n);
    }
    const size = Math.max(n, CHUNK_BYTES);
    // A record larger than a chunk gets a buffer of its own; the next read goes back to a chunk.
    if (this.buf.length !== size) this.buf = Buffer.allocUnsafe(size);
    const want = Math.min(size, this.limit() - pos);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(this.buf, got, want - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.from = pos;
    this.filled = got;
    return got >= n ? this.buf.subarray(0, n) : undefined;
  }
}

/** The cursor file: the segment number and offset sent up to (f64 each), and their CRC-32. */
const CURSOR_BYTES = 20;

export async function readCursor(fh: File): Promise<{ seq: number; offset: number } | undefined> {
  const b = Buffer.alloc(CURSOR_BYTES);
  const { bytesRead } = await fh.read(b, 0, CURSOR_BYTES, 0);
  if (bytesRead < CURSOR_BYTES || b.readUInt32LE(16) !== crc32(b.subarray(0, 16))) return undefined;
  return { seq: b.readDoubleLE(0), offset: b.readDoubleLE(8) };
}

export async function writeCursor(fh: File, cursor: { seq: number; offset: number }): Promise<void> {
  const b = Buffer.allocUnsafe(CURSOR_BYTES);
  b.writeDoubleLE(cursor.seq, 0);
  b.writeDoubleLE(cursor.offset, 8);
  b.writeUInt32LE(crc32(b.subarray(0, 16)), 16);
  await fh.write(b, 0, CURSOR_BYTES, 0);
}

export async function writeAll(fh: File, parts: Uint8Array[], position: number): Promise<void> {
  let pos = position;
  for (const part of parts) {
    let done = 0;
    while (done < part.byteLength) {
      const { bytesWritten } = await fh.write(part, done, part.byteLength - done, pos);
      done += bytesWritten;
      pos += bytesWritten;
    }
  }
}

/**
 * The spool's folder and files are readable by the gateway's user only (they hold readings, alert events). The
 * mode is set on the folder and on each descriptor as well as at creation: a mode given to mkdir or
 * open only applies to what they create, and a folder or file left 0755/0644 must not stay so.
 */
const PRIVATE_DIR_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;

export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
}

/** Opens with mode 0600, set on the descriptor too unless only reading; `r+` creates a missing file. */
export async function openPrivate(path: string, flags: 'r' | 'r+' | 'wx'): Promise<File> {
  let fh: File;
  try {
    fh = await openFile(path, flags, PRIVATE_FILE_MODE);
  } catch (err) {
    if (flags !== 'r+' || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fh = await openFile(path, 'w+', PRIVATE_FILE_MODE);
  }
  if (flags !== 'r')
    await fh.chmod(PRIVATE_FILE_MODE).catch(async (err) => {
      await fh.close();
      throw err;
    });
  return fh;
}
