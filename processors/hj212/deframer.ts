import { hj212Crc16 } from './crc.js';

/**
 * Streaming deframer for one HJ 212 byte stream (one TCP connection, or one MQTT payload).
 *
 * HJ 212-2017 通讯包结构组成 (packet structure table):
 *   `##` | data-segment length, 4 decimal digits | data segment (0..1024 bytes) | CRC16, 4 hex | CR LF
 *
 * TCP gives no message boundaries, so a frame can arrive in pieces, several frames can share one
 * segment, and a device that resets mid-frame leaves a fragment in front of its next frame. The
 * deframer therefore:
 *  - keeps at most one frame's worth of bytes (header + `maxDataLength` + trailer) per stream;
 *  - resynchronises on the next `##` after anything it cannot use, so one bad frame never costs the
 *    frames behind it;
 *  - never trusts the length field further than the bytes agree with it: a data segment cannot hold
 *    `##` or CR LF, so either one appearing before the declared end means the frame is truncated or
 *    its length is wrong, and that is decided as soon as it is seen, not after waiting for bytes
 *    that belong to the next frame.
 */

export const HJ212_MAX_DATA_LENGTH = 1024; // HJ 212-2017 通讯包结构组成: 数据段 0–1024 字符
const HEADER = 6; // '##' + 4 digits
const TRAILER = 6; // 4 hex + CR LF
const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;

export type DeframeErrorReason = 'bad_crc' | 'bad_length' | 'malformed';

export type DeframeItem =
  | { kind: 'frame' /** The data segment, which the CRC covers. */; data: Buffer }
  | {
      kind: 'error';
      reason: DeframeErrorReason;
      detail: string;
      /** The offending bytes (at most 256 of them), for a dead-letter preview. */
      bytes: Buffer;
    };

export interface DeframerOptions {
  /** Largest data segment accepted. Defaults to the standard's 1024; some vendors need more. */
  maxDataLength?: number;
}

export class Hj212Deframer {
  readonly maxDataLength: number;
  private readonly maxFrame: number;
  private buf: Buffer = Buffer.alloc(0);
  /** Offset in `buf` up to which the current candidate's body has been scanned for `##` / CR LF. */
  private scanned = 0;
  /** Set after an unusable header: the bytes up to the next `##` belong to that frame, already reported. */
  private quiet = false;

  constructor(opts: DeframerOptions = {}) {
    const max = opts.maxDataLength ?? HJ212_MAX_DATA_LENGTH;
    if (!Number.isInteger(max) || max < 1 || max > 9999) {
      throw new RangeError('maxDataLength must be an integer in 1..9999 (the length field has 4 digits)');
    }
    this.maxDataLength = max;
    this.maxFrame = HEADER + max + TRAILER;
  }

  /** Bytes held while waiting for the rest of a frame; never more than one maximal frame. */
  get buffered(): number {
    return this.buf.length;
  }

  /** Feeds bytes; returns the frames and errors they complete, in stream order. */
  push(chunk: Uint8Array): DeframeItem[] {
    const out: DeframeItem[] = [];
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    for (;;) {
      const step = this.next(pos, out);
      if (step < 0) break;
      pos = step;
    }
    return out;
  }

  /**
   * At end of stream: whatever is held is a truncated frame (or a lone '#'). Returns its error, if
   * any, and empties the buffer.
   */
  end(): DeframeItem[] {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    this.scanned = 0;
    if (rest.length === 0 || (rest.length === 1 && rest[0] === HASH)) return [];
    return [err('malformed', `stream ended inside a frame (${rest.length} bytes held)`, rest)];
  }

  /**
   * At the end of a message whose boundary is the frame boundary (an MQTT payload): CR LF is what
   * marks a frame's end on a byte stream (HJ 212-2017 通讯包结构组成, 包尾), and a message boundary
   * already says that, so a held frame missing its CR LF (or its LF) is complete when its declared
   * length and its CRC both agree. Anything else held is reported as end() does.
   */
  endOfMessage(): DeframeItem[] {
    const rest = this.buf;
    let end = rest.length;
    if (end > 0 && (rest[end - 1] === CR || rest[end - 1] === LF)) end--;
    if (rest.length >= HEADER + 4 && rest[0] === HASH && rest[1] === HASH) {
      const len = decimal4(rest, 2);
      if (len >= 0 && len <= this.maxDataLength && end === HEADER + len + 4) {
        const bodyEnd = HEADER + len;
        const got = hex4(rest, bodyEnd);
        const marker = findMarker(rest, HEADER, bodyEnd + 1);
        if (got >= 0 && marker.at < 0) {
          this.buf = Buffer.alloc(0);
          this.scanned = 0;
          const want = hj212Crc16(rest, HEADER, bodyEnd);
          if (got !== want) {
            return [
              err(
                'bad_crc',
                `CRC ${rest.toString('latin1', bodyEnd, bodyEnd + 4)} does not match the data segment's ${want.toString(16).toUpperCase().padStart(4, '0')}`,
                rest,
              ),
            ];
          }
          return [{ kind: 'frame', data: Buffer.from(rest.subarray(HEADER, bodyEnd)) }];
        }
      }
    }
    return this.end();
  }

  /** Handles what starts at `pos`; returns the next position, or -1 when more bytes are needed (buffer trimmed). */
  private next(pos: number, out: DeframeItem[]): number {
    const buf = this.buf;
    let start = indexOfHashes(buf, pos);
    // `##` not followed by 4 digits is not a header ("###0101…" has the real one a byte on): it is
    // part of the garbage run, reported with it.
    while (start >= 0 && buf.length >= start + HEADER && decimal4(buf, start + 2) < 0) {
      start = indexOfHashes(buf, start + 1);
    }
    if (start < 0) {
      // Keep a trailing '#': it may be the first half of the next header.
      const keep = buf.length > pos && buf[buf.length - 1] === HASH ? 1 : 0;
      if (buf.length - keep > pos && !this.quiet) out.push(garbage(buf, pos, buf.length - keep));
      this.retain(buf.length - keep);
      return -1;
    }
    if (start > pos && !this.quiet) out.push(garbage(buf, pos, start));
    this.quiet = false;
    if (buf.length < start + HEADER) {
      this.retain(start);
      return -1;
    }
    const len = decimal4(buf, start + 2);
    if (len > this.maxDataLength) {
      out.push(
        err(
          'bad_length',
          `declared data length ${len} exceeds the maximum ${this.maxDataLength}`,
          buf.subarray(start, start + HEADER),
        ),
      );
      this.quiet = true;
      this.scanned = 0;
      return start + 2;
    }
    const bodyStart = start + HEADER;
    const bodyEnd = bodyStart + len;
    // Scan the declared body for a marker that cannot be inside a data segment.
    const scanFrom = Math.max(bodyStart, this.scanned);
    const scanTo = Math.min(buf.length, bodyEnd);
    const marker = findMarker(buf, scanFrom, scanTo + (scanTo < buf.length ? 1 : 0));
    if (marker.at >= 0 && marker.at < bodyEnd) return this.early(start, bodyStart, len, marker, out);
    if (buf.length < bodyEnd + TRAILER) {
      // A pair may straddle the last byte held, so that byte is scanned again next time.
      this.scanned = Math.max(bodyStart, scanTo - 1);
      this.retain(start);
      return -1;
    }
    if (isTrailer(buf, bodyEnd)) {
      const got = hex4(buf, bodyEnd);
      const want = hj212Crc16(buf, bodyStart, bodyEnd);
      const frame = buf.subarray(start, bodyEnd + TRAILER);
      if (got !== want) {
        out.push(
          err(
            'bad_crc',
            `CRC ${buf.toString('latin1', bodyEnd, bodyEnd + 4)} does not match the data segment's ${want.toString(16).toUpperCase().padStart(4, '0')}`,
            frame,
          ),
        );
      } else {
        // Copy: the frame outlives this buffer, which the next push replaces.
        out.push({ kind: 'frame', data: Buffer.from(buf.subarray(bodyStart, bodyEnd)) });
      }
      this.scanned = 0;
      return bodyEnd + TRAILER;
    }
    // The declared end holds no trailer: the segment runs on. Look for where the frame really ends.
    const after = findMarker(buf, Math.max(bodyEnd, this.scanned), buf.length);
    if (after.at < 0) {
      if (buf.length - start >= this.maxFrame + TRAILER) {
        out.push(
          err('bad_length', `no frame end within ${this.maxFrame} bytes of the header`, buf.subarray(start)),
        );
        this.scanned = 0;
        return buf.length;
      }
      this.scanned = Math.max(bodyStart, buf.length - 1);
      this.retain(start);
      return -1;
    }
    return this.early(start, bodyStart, len, after, out);
  }

  /** A `##` or CR LF where the declared length says the frame has not yet ended (or already has). */
  private early(start: number, bodyStart: number, len: number, marker: Marker, out: DeframeItem[]): number {
    const buf = this.buf;
    this.scanned = 0;
    if (marker.kind === 'hashes') {
      out.push(
        err(
          'malformed',
          'frame truncated: a new frame header began inside it',
          buf.subarray(start, marker.at),
        ),
      );
      return marker.at;
    }
    const end = marker.at + 2;
    const actual = marker.at - 4 - bodyStart;
    if (actual >= 0 && isHex4(buf, marker.at - 4)) {
      out.push(
        err(
          'bad_length',
          `declared data length ${len} but the segment before the CRC is ${actual} bytes`,
          buf.subarray(start, end),
        ),
      );
    } else {
      out.push(err('malformed', 'frame ends (CR LF) without a CRC', buf.subarray(start, end)));
    }
    return end;
  }

  /** Drops everything before `from`; the rest waits for more bytes. */
  private retain(from: number): void {
    const drop = from;
    this.buf = drop >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(drop);
    this.scanned = Math.max(0, this.scanned - drop);
    // Bound what one stream can make us hold: anything beyond a maximal frame is not a frame.
    if (this.buf.length > this.maxFrame + TRAILER) this.buf = Buffer.alloc(0);
  }
}

interface Marker {
  at: number;
  kind: 'hashes' | 'crlf';
}

function findMarker(buf: Buffer, from: number, to: number): Marker {
  for (let i = from; i < to - 1; i++) {
    const c = buf[i];
    if (c === HASH && buf[i + 1] === HASH) return { at: i, kind: 'hashes' };
    if (c === CR && buf[i + 1] === LF) return { at: i, kind: 'crlf' };
  }
  return { at: -1, kind: 'crlf' };
}

function indexOfHashes(buf: Buffer, from: number): number {
  return buf.indexOf('##', from, 'latin1');
}

function decimal4(buf: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 4; i++) {
    const d = (buf[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87; // devices in the field send lower case too ("c0c1")
  return -1;
}

function hex4(buf: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 4; i++) {
    const d = hexDigit(buf[i] as number);
    if (d < 0) return -1;
    n = (n << 4) | d;
  }
  return n;
}

function isHex4(buf: Buffer, at: number): boolean {
  return at >= 0 && hex4(buf, at) >= 0;
}

function isTrailer(buf: Buffer, at: number): boolean {
  return isHex4(buf, at) && buf[at + 4] === CR && buf[at + 5] === LF;
}

function err(reason: DeframeErrorReason, detail: string, bytes: Buffer): DeframeItem {
  return { kind: 'error', reason, detail, bytes: Buffer.from(bytes.subarray(0, 256)) };
}

function garbage(buf: Buffer, from: number, to: number): DeframeItem {
  return err('malformed', `${to - from} bytes outside any frame skipped`, buf.subarray(from, to));
}
