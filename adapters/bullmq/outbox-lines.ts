/**
 * What the alert outbox holds: one JSON line per (queue, event), `{"q":queue,"t":at,"e":event}`,
 * a batch of them per disk-spool record (whose CRC tells a whole record from a torn one).
 */
import { existsSync, readdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AlertEvent } from '../../processors/alerts/event.js';
import { DiskSpool } from '../fs/disk-spool.js';
import type { LineBatch } from '../fs/spool.js';

export interface OutboxEntry {
  queue: string;
  event: AlertEvent;
  /** When it was emitted (ms since the epoch): what the oldest-age metric reads. */
  at: number;
}

/** The outbox folder (config `dispatch.outbox`) as a disk spool. */
export function openOutbox(where: { dir: string; maxMB: number }, logger: Logger): DiskSpool {
  return new DiskSpool({
    ...where,
    // An event counts as held once it is on the disk, power loss included.
    fsync: 'always',
    fsyncIntervalMs: 0,
    logger,
    what: 'alert outbox',
    setting: 'dispatch.outbox.dir',
  });
}

export function encodeEntries(entries: readonly OutboxEntry[]): LineBatch {
  const text = entries.map((p) => `${JSON.stringify({ q: p.queue, t: p.at, e: p.event })}\n`).join('');
  return { body: Buffer.from(text, 'utf8'), lines: entries.length };
}

/** The entries of a record; a line that is not one (only a bug writes such) is passed to `bad`. */
export function decodeEntries(body: Uint8Array, bad: (line: string) => void): OutboxEntry[] {
  const out: OutboxEntry[] = [];
  for (const line of Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    .toString('utf8')
    .split('\n')) {
    if (line === '') continue;
    try {
      const o = JSON.parse(line) as { q?: unknown; t?: unknown; e?: unknown };
      if (typeof o.q === 'string' && typeof o.t === 'number' && typeof o.e === 'object' && o.e !== null) {
        out.push({ queue: o.q, at: o.t, event: o.e as AlertEvent });
        continue;
      }
    } catch {}
    bad(line);
  }
  return out;
}

/** Segments of the outbox format before the disk spool (`0000000001.seg`) are not read: say so. */
export function reportOldSegments(dir: string, log: Logger): void {
  const old = existsSync(dir) ? readdirSync(dir).filter((n) => /^\d{10}\.seg$/.test(n)) : [];
  if (old.length > 0)
    log.error(
      { dir, files: old.length },
      'alert outbox holds segments of an earlier version (*.seg) that this version does not read: their events are not sent',
    );
}
