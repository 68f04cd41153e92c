import type { YuvFrame } from '../../processors/camera/picture.js';

/**
 * Splits ffmpeg's `-f image2pipe -c:v pgmyuv` output into frames, incrementally and with bounded
 * memory: a header is at most MAX_HEADER bytes, a frame at most MAX_WIDTH × MAX_HEIGHT, and the
 * body is copied straight into one of two preallocated buffers (the one not holding the frame
 * last delivered), so a stream never grows a buffer. pgmyuv is a PGM image (Netpbm P5: "P5",
 * width, height, maxval, one whitespace byte, then binary rows) whose height is 3/2 of the luma's.
 */
const MAX_HEADER = 64;
export const MAX_WIDTH = 4096;
export const MAX_HEIGHT = 4096;

export class PgmYuvReader {
  private header = '';
  private frame: YuvFrame | undefined;
  private filled = 0;
  /** The buffer of the frame last delivered (the consumer may still read it) and the free one. */
  private previous: Uint8Array | undefined;
  private spare: Uint8Array | undefined;
  private failed = false;

  /**
   * `onFrame` gets a frame whose bytes stay valid until the next frame is delivered (the reader
   * then writes into the other buffer); copy what must live longer. `onError` ends the stream.
   */
  constructor(
    private readonly onFrame: (frame: YuvFrame) => void,
    private readonly onError: (message: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.failed) {
      if (!this.frame) {
        off = this.readHeader(chunk, off);
        continue;
      }
      const f = this.frame;
      const n = Math.min(chunk.length - off, f.data.length - this.filled);
      f.data.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === f.data.length) {
        this.frame = undefined;
        this.onFrame(f);
        this.spare = this.previous;
        this.previous = f.data;
      }
    }
  }

  /** Consumes header bytes from chunk[off..]; returns the new offset. */
  private readHeader(chunk: Buffer, off: number): number {
    // Header tokens: P5 <width> <height> <maxval> followed by exactly one whitespace byte.
    while (off < chunk.length) {
      const ch = chunk[off++] as number;
      this.header += String.fromCharCode(ch);
      const tokens = this.header.trim().split(/\s+/);
      const isSpace = ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09;
      if (tokens.length === 4 && isSpace && this.header.trimStart().length > 0) {
        this.startFrame(tokens);
        return off;
      }
      if (this.header.length > MAX_HEADER) return this.fail('frame header too long');
    }
    return off;
  }

  private startFrame(tokens: string[]): void {
    const [magic, ws, hs, maxval] = tokens;
    this.header = '';
    const width = Number(ws);
    const pgmHeight = Number(hs);
    if (magic !== 'P5' || maxval !== '255')
      return void this.fail(`not an 8-bit pgmyuv frame (${magic} ${maxval})`);
    if (!Number.isInteger(width) || !Number.isInteger(pgmHeight) || width < 2 || width % 2 !== 0)
      return void this.fail(`bad frame width ${ws}`);
    if (pgmHeight % 3 !== 0 || pgmHeight < 3) return void this.fail(`bad pgmyuv height ${hs}`);
    const height = (pgmHeight / 3) * 2;
    if (width > MAX_WIDTH || height > MAX_HEIGHT) return void this.fail(`frame ${width}x${height} too large`);
    const bytes = width * pgmHeight;
    const data = this.spare && this.spare.length === bytes ? this.spare : new Uint8Array(bytes);
    this.spare = undefined;
    this.frame = { width, height, data };
    this.filled = 0;
  }

  private fail(message: string): number {
    this.failed = true;
    this.onError(message);
    return Number.MAX_SAFE_INTEGER;
  }
}
