import type { TimeFormat } from './devices/define.js';

/**
 * Device timestamps in the formats vendors send. Parsing is strict: a value that is not exactly the
 * declared format is `undefined` (the decoder rejects it as bad_timestamp) rather than guessed at,
 * so a device whose clock or firmware is wrong shows up in the dead letters instead of in the data.
 */

/** China Standard Time, UTC+8, no daylight saving: the zone of `local_compact` and of zone-less ISO strings. */
export const CHINA_OFFSET_MS = 8 * 3_600_000;

/** Epoch ms, or undefined when `value` is not a valid timestamp in `format`. */
export function parseDeviceTime(value: unknown, format: TimeFormat): number | undefined {
  switch (format) {
    case 'epoch_s': {
      const n = toFiniteNumber(value);
      return n === undefined ? undefined : Math.round(n * 1000);
    }
    case 'epoch_ms': {
      const n = toFiniteNumber(value);
      return n === undefined ? undefined : Math.round(n);
    }
    case 'iso8601':
      return typeof value === 'string' ? parseIso8601(value) : undefined;
    case 'local_compact':
      // Some vendors send 20260101080000 as a JSON number; 14 and 17 digit integers are exact doubles.
      if (typeof value === 'number')
        return Number.isInteger(value) ? parseLocalCompact(String(value)) : undefined;
      return typeof value === 'string' ? parseLocalCompact(value) : undefined;
  }
}

/** Epoch ms -> the vendor's representation (simulators use it to speak each model's format). */
export function formatDeviceTime(ms: number, format: TimeFormat): string | number {
  switch (format) {
    case 'epoch_s':
      return Math.floor(ms / 1000);
    case 'epoch_ms':
      return ms;
    case 'iso8601':
      return new Date(ms).toISOString();
    case 'local_compact':
      return formatLocalCompact(ms);
  }
}

/** yyyyMMddHHmmss in China Standard Time. */
export function formatLocalCompact(ms: number): string {
  const d = new Date(ms + CHINA_OFFSET_MS);
  return (
    String(d.getUTCFullYear()).padStart(4, '0') +
    pad2(d.getUTCMonth() + 1) +
    pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) +
    pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds())
  );
}

/** yyyyMMddHHmmss or yyyyMMddHHmmssSSS, China Standard Time (HJ 212-2017 §6.3.2 uses the same form for QN/DataTime). */
export function parseLocalCompact(s: string): number | undefined {
  if (s.length !== 14 && s.length !== 17) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 4, 2);
  const day = digits(s, 6, 2);
  const hour = digits(s, 8, 2);
  const minute = digits(s, 10, 2);
  const second = digits(s, 12, 2);
  const milli = s.length === 17 ? digits(s, 14, 3) : 0;
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || milli < 0) return undefined;
  return civilToEpoch(year, month, day, hour, minute, second, milli, CHINA_OFFSET_MS);
}

// Date.parse is too lenient ("1", "2026", RFC 2822 strings all parse) and reads zone-less strings
// in the process's own zone, so the accepted shapes are spelled out.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** ISO 8601 date-time. Without a zone designator the time is read as China Standard Time, where these devices live. */
export function parseIso8601(s: string): number | undefined {
  if (s.length > 40) return undefined;
  const m = ISO.exec(s);
  if (!m) return undefined;
  const frac = m[7] ?? '';
  const milli = frac === '' ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  let offsetMs = CHINA_OFFSET_MS;
  if (m[8]) offsetMs = 0;
  else if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMs = (m[9] === '-' ? -1 : 1) * (oh * 3_600_000 + om * 60_000);
  }
  return civilToEpoch(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
    milli,
    offsetMs,
  );
}

function civilToEpoch(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  milli: number,
  offsetMs: number,
): number | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, milli);
  // Date.UTC rolls 31 February over into March; a real calendar date round-trips.
  if (new Date(utc).getUTCDate() !== day) return undefined;
  return utc - offsetMs;
}

/** The non-negative integer in s[start, start+len), or -1 if any character is not a digit. */
function digits(s: string, start: number, len: number): number {
  let n = 0;
  for (let i = start; i < start + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function toFiniteNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && DECIMAL.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const DECIMAL = /^-?\d+(?:\.\d+)?$/;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
