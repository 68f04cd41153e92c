/**
 * The alert outbox's record format: `[u32 payload length][u32 CRC-32 of payload][payload]`, both
 * integers big-endian, the payload one JSON object `{ q, t, e }` (queue, time it entered the
 * outbox, the gridgate.alert/v1 event). The length lets a reader step from record to record; the
 * CRC tells a whole record from one torn by a crash in the middle of a write, or from bytes that
 * were never written (a file extended but not filled when the machine lost power).
 */
import { crc32 } from 'node:zlib';
import type { AlertEvent } from '../../processors/alerts/event.js';

export const HEADER_BYTES = 8;
/** No alert event comes near this; a larger length field is damage, not a record. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export interface OutboxEntry {
  queue: string;
  event: AlertEvent;
  /** When it entered the outbox (ms since the epoch): what the oldest-age metric reads. */
  at: number;
}

export function encodeRecord(e: OutboxEntry): Buffer {
  const payload = Buffer.from(JSON.stringify({ q: e.queue, t: e.at, e: e.event }), 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  payload.copy(out, HEADER_BYTES);
  return out;
}

export type Decoded =
  | { ok: true; entry: OutboxEntry; bytes: number }
  /** `short`: the buffer ends inside the record; `damaged`: its length or CRC is wrong. */
  | { ok: false; why: 'short' | 'damaged' };

/** The record starting at `off` in `buf`. */
export function decodeRecord(buf: Buffer, off: number): Decoded {
  if (buf.length - off < HEADER_BYTES) return { ok: false, why: 'short' };
  const len = buf.readUInt32BE(off);
  if (len === 0 || len > MAX_RECORD_BYTES) return { ok: false, why: 'damaged' };
  if (buf.length - off - HEADER_BYTES < len) return { ok: false, why: 'short' };
  const payload = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len);
  if (crc32(payload) !== buf.readUInt32BE(off + 4)) return { ok: false, why: 'damaged' };
  try {
    const o = JSON.parse(payload.toString('utf8')) as { q?: unknown; t?: unknown; e?: unknown };
    if (typeof o.q !== 'string' || typeof o.t !== 'number' || typeof o.e !== 'object' || o.e === null) {
      return { ok: false, why: 'damaged' };
    }
    return { ok: true, entry: { queue: o.q, at: o.t, event: o.e as AlertEvent }, bytes: HEADER_BYTES + len };
  } catch {
    return { ok: false, why: 'damaged' };
  }
}
