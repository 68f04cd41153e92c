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
// in the process's own zone, so the accepted shape is spelled out:
//   YYYY-MM-DD(T|t| )hh:mm[:ss[(.|,)f{1,9}]][Z|z|(+|-)hh[:]mm]
// and read character by character (this runs for every message of an ISO-stamped model; a
// regular expression and Date.UTC cost ~4x more here).

/** ISO 8601 date-time. Without a zone designator the time is read as China Standard Time, where these devices live. */
export function parseIso8601(s: string): number | undefined {
  const len = s.length;
  if (len < 16 || len > 40) return undefined;
  const t = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d || s.charCodeAt(13) !== 0x3a) return undefined;
  if (t !== 0x54 && t !== 0x74 && t !== 0x20) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0) return undefined;
  let i = 16;
  let second = 0;
  let milli = 0;
  if (i < len && s.charCodeAt(i) === 0x3a) {
    second = digits(s, i + 1, 2);
    if (second < 0) return undefined;
    i += 3;
    const sep = i < len ? s.charCodeAt(i) : 0;
    if (sep === 0x2e || sep === 0x2c) {
      // 1 to 9 fraction digits; the first three are the milliseconds (the rest are cut, not rounded).
      const from = ++i;
      while (i < len && i - from < 10 && isDigit(s.charCodeAt(i))) {
        if (i - from < 3) milli += (s.charCodeAt(i) - 48) * 10 ** (2 - (i - from));
        i++;
      }
      if (i === from || i - from > 9) return undefined;
    }
  }
  let offsetMs = CHINA_OFFSET_MS;
  if (i < len) {
    const z = s.charCodeAt(i);
    if (z === 0x5a || z === 0x7a) {
      if (i + 1 !== len) return undefined;
      offsetMs = 0;
    } else if (z === 0x2b || z === 0x2d) {
      const oh = digits(s, i + 1, 2);
      const colon = s.charCodeAt(i + 3) === 0x3a ? 1 : 0;
      const om = digits(s, i + 3 + colon, 2);
      if (i + 5 + colon !== len || oh < 0 || om < 0 || oh > 23 || om > 59) return undefined;
      offsetMs = (z === 0x2d ? -1 : 1) * (oh * 3_600_000 + om * 60_000);
    } else return undefined;
  }
  return civilToEpoch(year, month, day, hour, minute, second, milli, offsetMs);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * A calendar date and time (proleptic Gregorian, years 0-9999) at a UTC offset -> epoch ms, or
 * undefined when it is not a real date (31 February) or time. Arithmetic only: days from the civil
 * date as in H. Hinnant's `days_from_civil`, no Date object.
 */
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
  if (day > daysInMonth(year, month)) return undefined;
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146_097 + doe - 719_468;
  return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + milli - offsetMs;
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** The non-negative integer in s[start, start+len), or -1 if any character is not a digit or s ends first. */
function digits(s: string, start: number, len: number): number {
  let n = 0;
  for (let i = start; i < start + len; i++) {
    const c = s.charCodeAt(i) - 48; // NaN past the end
    if (!(c >= 0 && c <= 9)) return -1;
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
