import { describe, expect, it } from 'vitest';
import { formatDeviceTime, parseDeviceTime } from '../../processors/time.js';
import { seededRandom } from '../support/random.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

describe('device time formats', () => {
  it('epoch seconds and milliseconds, as numbers or numeric strings', () => {
    expect(parseDeviceTime(1767225600, 'epoch_s')).toBe(T0);
    expect(parseDeviceTime('1767225600', 'epoch_s')).toBe(T0);
    expect(parseDeviceTime(1767225600.5, 'epoch_s')).toBe(T0 + 500);
    expect(parseDeviceTime(T0, 'epoch_ms')).toBe(T0);
    expect(parseDeviceTime(String(T0), 'epoch_ms')).toBe(T0);
  });

  it('ISO 8601 with Z, with offsets, with fractions, and zone-less as China time', () => {
    expect(parseDeviceTime('2026-01-01T00:00:00Z', 'iso8601')).toBe(T0);
    expect(parseDeviceTime('2026-01-01T00:00:00.250Z', 'iso8601')).toBe(T0 + 250);
    expect(parseDeviceTime('2026-01-01T08:00:00+08:00', 'iso8601')).toBe(T0);
    expect(parseDeviceTime('2026-01-01T08:00:00+0800', 'iso8601')).toBe(T0);
    expect(parseDeviceTime('2025-12-31T19:00:00-05:00', 'iso8601')).toBe(T0);
    expect(parseDeviceTime('2026-01-01 08:00:00', 'iso8601')).toBe(T0);
    expect(parseDeviceTime('2026-01-01T08:00', 'iso8601')).toBe(T0);
  });

  it('local_compact is China time, 14 or 17 digits, string or number', () => {
    expect(parseDeviceTime('20260101080000', 'local_compact')).toBe(T0);
    expect(parseDeviceTime('20260101080000123', 'local_compact')).toBe(T0 + 123);
    expect(parseDeviceTime(20260101080000, 'local_compact')).toBe(T0);
    expect(parseDeviceTime('20240229120000', 'local_compact')).toBe(Date.UTC(2024, 1, 29, 4));
  });

  it.each([
    ['epoch_s', 'yesterday'],
    ['epoch_s', null],
    ['epoch_s', Number.POSITIVE_INFINITY],
    ['epoch_s', '0x10'],
    ['epoch_ms', { t: 1 }],
    ['iso8601', '2026'],
    ['iso8601', 'Thu, 01 Jan 2026 00:00:00 GMT'],
    ['iso8601', '2026-02-30T00:00:00Z'],
    ['iso8601', '2026-01-01T24:00:00Z'],
    ['iso8601', 1767225600],
    ['local_compact', '2026010108000'],
    ['local_compact', '20261301080000'],
    ['local_compact', '20250229080000'],
    ['local_compact', '2026-01-01 08:0'],
    ['local_compact', 2026010108000.5],
  ] as const)('%s rejects %j', (format, value) => {
    expect(parseDeviceTime(value, format)).toBeUndefined();
  });

  it('formatDeviceTime round-trips every format', () => {
    for (const f of ['epoch_s', 'epoch_ms', 'iso8601', 'local_compact'] as const) {
      expect(parseDeviceTime(formatDeviceTime(T0, f), f)).toBe(T0);
    }
    expect(formatDeviceTime(T0, 'local_compact')).toBe('20260101080000');
  });
});

describe('ISO 8601 parsing against the regular-expression reader it replaced', () => {
  // The earlier parser, kept here as the reference: a regular expression and a Date object.
  const ISO =
    /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
  function reference(s: string): number | undefined {
    if (s.length > 40) return undefined;
    const m = ISO.exec(s);
    if (!m) return undefined;
    const frac = m[7] ?? '';
    const milli = frac === '' ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
    let offsetMs = 8 * 3_600_000;
    if (m[8]) offsetMs = 0;
    else if (m[9]) {
      const oh = Number(m[10]);
      const om = Number(m[11]);
      if (oh > 23 || om > 59) return undefined;
      offsetMs = (m[9] === '-' ? -1 : 1) * (oh * 3_600_000 + om * 60_000);
    }
    const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((k) => Number(m[k]));
    const second = Number(m[6] ?? 0);
    if (month! < 1 || month! > 12 || day! < 1 || hour! > 23 || minute! > 59 || second > 59) return undefined;
    // setUTCFullYear, not Date.UTC, which would read years 0-99 as 1900-1999.
    const d = new Date(0);
    d.setUTCFullYear(year!, month! - 1, day!);
    d.setUTCHours(hour!, minute!, second, milli);
    if (d.getUTCDate() !== day) return undefined;
    return d.getTime() - offsetMs;
  }

  it('gives the same answer over 200,000 generated and mutated strings', () => {
    const rnd = seededRandom(2026);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const num = (lo: number, hi: number, width: number) =>
      String(lo + Math.floor(rnd() * (hi - lo + 1))).padStart(width, '0');
    const zones = [
      '',
      'Z',
      'z',
      '+08:00',
      '+0800',
      '-05:30',
      '+23:59',
      '+24:00',
      '+08:60',
      '+8:00',
      'Zx',
      ' ',
      '-',
    ];
    const junk = '0123456789-:T+Z.,a t';
    let valid = 0;
    for (let n = 0; n < 200_000; n++) {
      let s = `${num(0, 9999, 4)}-${num(0, 13, 2)}-${num(0, 32, 2)}${pick(['T', 't', ' ', 'x'])}${num(0, 25, 2)}:${num(0, 61, 2)}`;
      if (rnd() < 0.8) {
        s += `:${num(0, 61, 2)}`;
        if (rnd() < 0.5) {
          const digits = Math.floor(rnd() * 12);
          s += pick(['.', ',']);
          for (let i = 0; i < digits; i++) s += String(Math.floor(rnd() * 10));
        }
      }
      s += pick(zones);
      const r = rnd();
      if (r < 0.2) {
        const at = Math.floor(rnd() * s.length);
        s = s.slice(0, at) + pick([...junk]) + s.slice(at + 1);
      } else if (r < 0.3) s = s.slice(0, Math.floor(rnd() * s.length));
      const want = reference(s);
      if (want !== undefined) valid++;
      if (parseDeviceTime(s, 'iso8601') !== want)
        expect.fail(`${JSON.stringify(s)}: ${parseDeviceTime(s, 'iso8601')} != ${want}`);
    }
    // The generator must reach both answers often enough to mean something.
    expect(valid).toBeGreaterThan(20_000);
    expect(valid).toBeLessThan(180_000);
  });

  it('reads years below 100 as written (proleptic Gregorian), not as 19xx', () => {
    const d = new Date(0);
    d.setUTCFullYear(26, 0, 1);
    d.setUTCHours(0, 0, 0, 0);
    expect(parseDeviceTime('0026-01-01T00:00:00Z', 'iso8601')).toBe(d.getTime());
    expect(parseDeviceTime('0000-02-29T00:00:00Z', 'iso8601')).toBeDefined(); // year 0 is a leap year
    expect(parseDeviceTime('1900-02-29T00:00:00Z', 'iso8601')).toBeUndefined();
    expect(parseDeviceTime('2000-02-29T00:00:00Z', 'iso8601')).toBe(Date.UTC(2000, 1, 29));
    expect(parseDeviceTime('00260101080000', 'local_compact')).toBe(d.getTime());
    // The longest accepted shape (35 characters); trailing characters are refused.
    expect(parseDeviceTime('2026-01-01T00:00:00.123456789+08:00', 'iso8601')).toBeDefined();
    expect(parseDeviceTime(`2026-01-01T00:00:00.123456789+08:00${' '.repeat(6)}`, 'iso8601')).toBeUndefined();
  });
});
