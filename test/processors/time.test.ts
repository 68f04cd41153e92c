import { describe, expect, it } from 'vitest';
import { formatDeviceTime, parseDeviceTime } from '../../processors/time.js';

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
