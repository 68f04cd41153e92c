/**
 * The alert outbox's segment files (`0000000001.seg`, ...): naming, listing, reading one record at
 * an offset, and the check at open that cuts a segment at a torn or damaged record (a crash
 * mid-write, or power loss before the data reached the disk).
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, readSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { decodeRecord, HEADER_BYTES, MAX_RECORD_BYTES } from './outbox-codec.js';

const SEGMENT = /^(\d{10})\.seg$/;
/** Every file of the outbox: alert events are for the gateway's user only. */
export const FILE_MODE = 0o600;

export interface Segment {
  no: number;
  path: string;
  bytes: number;
  records: number;
}

export function segmentPath(dir: string, no: number): string {
  return join(dir, `${String(no).padStart(10, '0')}.seg`);
}

/** Segment numbers in `dir`, oldest first. */
export function listSegmentNumbers(dir: string): number[] {
  return readdirSync(dir)
    .map((n) => SEGMENT.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export interface RecoveredSegment {
  /** Bytes of whole records (the file is cut to this). */
  bytes: number;
  records: number;
  /** Records that end at or before `cursorOff`, and the offset where the last of them ends. */
  done: number;
  doneOff: number;
}

/**
 * Read the segment at `path` record by record; a torn or damaged record ends it, and the file is
 * cut there. `cursorOff`, when given, is the saved cursor inside this segment.
 */
export function recoverSegment(path: string, log: Logger, cursorOff: number | undefined): RecoveredSegment {
  const buf = readFileSync(path);
  let off = 0;
  let records = 0;
  let done = 0;
  let doneOff = 0;
  for (;;) {
    const d = decodeRecord(buf, off);
    if (!d.ok) {
      if (off < buf.length) {
        log.warn(
          { segment: path, offset: off, discardedBytes: buf.length - off, why: d.why },
          'alert outbox segment ends in a torn or damaged record (a crash while writing); cut there',
        );
        truncateSync(path, off);
      }
      break;
    }
    off += d.bytes;
    records++;
    if (cursorOff !== undefined && off <= cursorOff) {
      done = records;
      doneOff = off;
    }
  }
  return { bytes: off, records, done, doneOff };
}

/** The encoded record at `off` of a segment `segBytes` long, open as `fd` (decode it with decodeRecord). */
export function readRecordAt(fd: number, segBytes: number, off: number): Buffer {
  const hdr = Buffer.alloc(HEADER_BYTES);
  readSync(fd, hdr, 0, HEADER_BYTES, off);
  const len = Math.min(hdr.readUInt32BE(0), MAX_RECORD_BYTES, Math.max(0, segBytes - off - HEADER_BYTES));
  const buf = Buffer.alloc(HEADER_BYTES + len);
  hdr.copy(buf);
  if (len > 0) readSync(fd, buf, HEADER_BYTES, len, off + HEADER_BYTES);
  return buf;
}

/** fsync the folder, so that a new file's name survives a power loss too, not only its bytes. */
export function syncDir(dir: string): void {
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
