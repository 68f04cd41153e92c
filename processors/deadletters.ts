import type { Logger } from 'pino';
import { REJECT_REASONS, type Rejection, type RejectReason, type RejectSink } from './errors.js';
import { type Clock, systemClock } from './types.js';

/**
 * Where rejected messages go: a bounded ring an installer can inspect (`gridgate deadletters`),
 * totals by reason that never drop, and log lines throttled per (device or topic, reason) so a
 * misconfigured device sending ten messages a second produces one line a minute, not ten a second.
 */

export interface DeadLetterOptions {
  /** Rejections kept, oldest dropped first. Default 1000. */
  capacity?: number;
  /** At most one log line per (device or topic, reason) per interval. Default 60 s. */
  logIntervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface DeadLetterQuery {
  deviceId?: string;
  reason?: RejectReason;
  /** Newest `limit` matches. */
  limit?: number;
}

export function zeroCounts(): Record<RejectReason, number> {
  const counts = {} as Record<RejectReason, number>;
  for (const r of Object.keys(REJECT_REASONS) as RejectReason[]) counts[r] = 0;
  return counts;
}

export class DeadLetterStore implements RejectSink {
  readonly #ring: (Rejection | undefined)[];
  /** Index the next rejection is written to. */
  #next = 0;
  #size = 0;
  readonly #counts = zeroCounts();
  readonly #throttle: LogThrottle;
  readonly #logger: Logger | undefined;

  constructor(opts: DeadLetterOptions = {}) {
    const capacity = opts.capacity ?? 1000;
    if (!(Number.isInteger(capacity) && capacity > 0))
      throw new RangeError('capacity must be a positive integer');
    this.#ring = new Array(capacity);
    this.#logger = opts.logger;
    this.#throttle = new LogThrottle(opts.logIntervalMs ?? 60_000, opts.clock ?? systemClock);
  }

  reject(r: Rejection): void {
    this.#counts[r.reason]++;
    this.#ring[this.#next] = r;
    this.#next = (this.#next + 1) % this.#ring.length;
    if (this.#size < this.#ring.length) this.#size++;
    if (this.#logger?.isLevelEnabled('warn')) {
      const suppressed = this.#throttle.admit(`${r.deviceId ?? r.topic ?? r.transport}\u0000${r.reason}`);
      if (suppressed >= 0) {
        this.#logger.warn(
          {
            reason: r.reason,
            deviceId: r.deviceId,
            topic: r.topic,
            field: r.field,
            detail: r.detail,
            payloadPreview: r.payloadPreview,
            suppressed,
          },
          suppressed > 0
            ? `rejected (${r.reason}); ${suppressed} more like it since the last line`
            : `rejected (${r.reason})`,
        );
      }
    }
  }

  /** Matching rejections, oldest first (newest last). */
  list(q: DeadLetterQuery = {}): Rejection[] {
    const limit = q.limit ?? this.#size;
    const out: Rejection[] = [];
    const cap = this.#ring.length;
    // Walk newest to oldest so `limit` keeps the newest, then reverse.
    for (let k = 1; k <= this.#size && out.length < limit; k++) {
      const r = this.#ring[(this.#next - k + cap) % cap];
      if (!r) continue;
      if (q.deviceId !== undefined && r.deviceId !== q.deviceId) continue;
      if (q.reason !== undefined && r.reason !== q.reason) continue;
      out.push(r);
    }
    return out.reverse();
  }

  /** Rejections by reason since start, including those the ring has dropped. */
  counts(): Record<RejectReason, number> {
    return { ...this.#counts };
  }

  get size(): number {
    return this.#size;
  }

  get capacity(): number {
    return this.#ring.length;
  }
}

/**
 * "Log once per key per interval": admit() returns how many were suppressed since the key's last
 * line (>= 0) when a line may be written now, or -1 to stay quiet. Keys are bounded: when the table
 * is full, expired keys are swept, and if it is still full the rest share one overflow key, so a
 * flood of random device ids cannot grow memory.
 */
export class LogThrottle {
  readonly #windows = new Map<string, { start: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly clock: Clock = systemClock,
    private readonly maxKeys = 10_000,
  ) {}

  admit(key: string): number {
    const now = this.clock.now();
    let w = this.#windows.get(key);
    if (!w) {
      if (this.#windows.size >= this.maxKeys) {
        this.#sweep(now);
        if (this.#windows.size >= this.maxKeys) key = '\u0000overflow';
      }
      w = this.#windows.get(key);
      if (!w) {
        this.#windows.set(key, { start: now, suppressed: 0 });
        return 0;
      }
    }
    if (now - w.start >= this.intervalMs) {
      const suppressed = w.suppressed;
      w.start = now;
      w.suppressed = 0;
      return suppressed;
    }
    w.suppressed++;
    return -1;
  }

  #sweep(now: number): void {
    for (const [k, w] of this.#windows) if (now - w.start >= this.intervalMs) this.#windows.delete(k);
  }
}

/** Bytes of payload kept in a dead letter. */
export const PREVIEW_BYTES = 256;

/**
 * Up to 256 bytes of a payload as printable text: well-formed UTF-8 (Chinese included) stays as is;
 * control characters, backslash and bytes that are not well-formed UTF-8 (RFC 3629 §4) become \xNN.
 */
export function previewPayload(buf: Uint8Array, maxBytes = PREVIEW_BYTES): string {
  const end = Math.min(buf.length, maxBytes);
  let out = '';
  let i = 0;
  while (i < end) {
    const b = buf[i] as number;
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const len = b >= 0x80 ? utf8SequenceLength(buf, i, end) : 0;
    if (len > 0) {
      out += Buffer.from(buf.subarray(i, i + len)).toString('utf8');
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  if (buf.length > end) out += `…(+${buf.length - end} bytes)`;
  return maskSecrets(out);
}

/**
 * Previews are shown to installers and logged, so secrets inside payloads are masked: the HJ 212
 * access password (`PW=...;`, HJ 212-2017 数据段结构组成) and JSON `password`/`secret`/`token` values.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(/(^|[;&])PW=[^;&]*/g, '$1PW=***')
    .replace(/("(?:password|passwd|pwd|secret|token)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"***"');
}

/** Length of the well-formed UTF-8 sequence starting at i (RFC 3629 §4 table), or 0. */
function utf8SequenceLength(buf: Uint8Array, i: number, end: number): number {
  const b0 = buf[i] as number;
  let len: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f; // no UTF-16 surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + len > end) return 0;
  const b1 = buf[i + 1] as number;
  if (b1 < lo || b1 > hi) return 0;
  for (let k = 2; k < len; k++) {
    const b = buf[i + k] as number;
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return len;
}
