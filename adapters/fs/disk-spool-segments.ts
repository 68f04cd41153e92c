/**
 * The disk spool's segment files: naming and listing, and the read-through of a segment at open
 * that counts what it holds, skips damaged records and cuts off a torn tail.
 */

import { join } from 'node:path';
import type { Logger } from 'pino';
import { openPrivate, SegmentReader } from './disk-spool-format.js';
import { readdir } from './file.js';
import type { SpoolStats } from './spool.js';

export interface Segment {
  seq: number;
  path: string;
  /** Bytes of complete records (the file may hold a torn tail beyond, cut off at open). */
  size: number;
  /** Lines and records not yet sent. */
  lines: number;
  records: number;
  /** Spool time of the first record not yet sent (approximate after a send until the next read). */
  firstAt: number | undefined;
  /** Found at open (its damage was counted then), not written by this run. */
  found: boolean;
}

const SEGMENT_RE = /^seg-(\d{12})\.spool$/;

export function segmentPath(dir: string, seq: number): string {
  return join(dir, `seg-${String(seq).padStart(12, '0')}.spool`);
}

/** Sequence numbers of the segments in `dir`, oldest first. */
export async function listSegments(dir: string): Promise<number[]> {
  return (await readdir(dir))
    .map((name) => SEGMENT_RE.exec(name)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Counts what one segment holds from `start`, skipping damage and cutting off a torn tail. */
export async function scanSegment(
  seq: number,
  path: string,
  start: number,
  log: Logger,
  counters: Pick<SpoolStats, 'corruptRecords' | 'tornRecords'>,
): Promise<Segment> {
  const fh = await openPrivate(path, 'r+');
  try {
    const { size: fileSize } = await fh.stat();
    const seg: Segment = {
      seq,
      path,
      size: fileSize,
      lines: 0,
      records: 0,
      firstAt: undefined,
      found: true,
    };
    const r = new SegmentReader(fh, () => fileSize);
    let pos = Math.min(start, fileSize);
    for (;;) {
      const got = await r.read(pos);
      if (got.kind === 'end') break;
      if (got.kind === 'record') {
        seg.lines += got.record.lines;
        seg.records++;
        seg.firstAt ??= got.record.at;
        pos = got.record.end;
      } else if (got.kind === 'corrupt') {
        counters.corruptRecords++;
        log.warn(
          { segment: path, offset: got.start, bytes: got.next - got.start },
          'damaged spool record skipped',
        );
        pos = got.next;
      } else {
        counters.tornRecords++;
        log.warn(
          { segment: path, offset: got.start, bytes: fileSize - got.start },
          'incomplete last spool record (a write cut short by a crash) skipped',
        );
        await fh.truncate(got.start);
        seg.size = got.start;
        break;
      }
    }
    return seg;
  } finally {
    await fh.close();
  }
}
