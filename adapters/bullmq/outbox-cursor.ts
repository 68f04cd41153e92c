/**
 * The alert outbox's cursor file: the position (segment number, byte offset) of the oldest record
 * not yet in Redis, as 12 bytes (seg u32 BE, off u32 BE, CRC-32 of the first 8). Written after each
 * delivery without fsync: after a crash a few delivered records may be read again, which the
 * dispatcher's BullMQ jobIds make harmless. A torn or missing cursor reads as none.
 */
import { closeSync, existsSync, fchmodSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as crc } from 'node:zlib';
import type { Logger } from 'pino';
import { FILE_MODE } from './outbox-segments.js';

export interface OutboxPosition {
  seg: number;
  off: number;
}

export class OutboxCursorFile {
  private fd: number | undefined;

  constructor(private readonly log: Logger) {}

  /** Open (or create) `<dir>/cursor`; the position it holds, if any. */
  open(dir: string): OutboxPosition | undefined {
    const path = join(dir, 'cursor');
    this.fd = openSync(path, existsSync(path) ? 'r+' : 'w+', FILE_MODE);
    fchmodSync(this.fd, FILE_MODE);
    const b = Buffer.alloc(12);
    const n = readSync(this.fd, b, 0, 12, 0);
    if (n < 12 || b.readUInt32BE(8) !== crc(b.subarray(0, 8))) return undefined;
    return { seg: b.readUInt32BE(0), off: b.readUInt32BE(4) };
  }

  write(seg: number, off: number): void {
    if (this.fd === undefined) return;
    const b = Buffer.alloc(12);
    b.writeUInt32BE(seg, 0);
    b.writeUInt32BE(off, 4);
    b.writeUInt32BE(crc(b.subarray(0, 8)), 8);
    try {
      writeSync(this.fd, b, 0, 12, 0);
    } catch (err) {
      // Only costs re-sending delivered events after a restart (deduplicated by jobId).
      this.log.warn({ err: (err as Error).message }, 'alert outbox cursor not written');
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
