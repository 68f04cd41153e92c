import { describe, expect, it } from 'vitest';
import { LineBuffer } from '../../adapters/tsdb/line-buffer.js';
import { escapeKey, escapeMeasurement } from '../../adapters/tsdb/line-protocol.js';
import type { Reading } from '../../processors/types.js';

/** The line LineBuffer writes for the reading, without its `\n`; undefined when it writes none. */
function toLine(r: Reading): string | undefined {
  const lb = new LineBuffer(64);
  if (!lb.append(r)) return undefined;
  const { buffer, byteLength } = lb.take();
  return Buffer.from(buffer, 0, byteLength - 1).toString('utf8');
}

const base: Reading = {
  device: 'fg-1',
  measurement: 'flood',
  time: 1_764_000_000_123,
  fields: { water_level_m: 1.25 },
  tags: { device: 'fg-1', district: '鼓楼区', family: 'flood' },
};

describe('line protocol', () => {
  it('writes measurement, sorted tags, float field and a millisecond timestamp', () => {
    expect(toLine({ ...base, tags: { family: 'flood', device: 'fg-1', district: '鼓楼区' } })).toBe(
      'flood,device=fg-1,district=鼓楼区,family=flood water_level_m=1.25 1764000000123',
    );
  });

  it('suffixes integer metrics with i and leaves floats bare, even whole ones', () => {
    const line = toLine({ ...base, measurement: 'access', fields: { count: 1 }, tags: { event: 'granted' } });
    expect(line).toBe('access,event=granted count=1i 1764000000123');
    expect(toLine({ ...base, fields: { water_level_m: 2 }, tags: {} })).toBe(
      'flood water_level_m=2 1764000000123',
    );
  });

  it('escapes commas, equals signs and spaces in tags; commas and spaces in the measurement', () => {
    expect(escapeKey('a,b=c d')).toBe('a\\,b\\=c\\ d');
    expect(escapeMeasurement('a,b=c d')).toBe('a\\,b=c\\ d');
    expect(escapeKey('line\nbreak')).toBe('line\\ break');
    const line = toLine({ ...base, tags: { street: '中山 路,1=2' } });
    expect(line).toBe('flood,street=中山\\ 路\\,1\\=2 water_level_m=1.25 1764000000123');
  });

  it('omits empty tag values and non-finite fields; no finite field means no line', () => {
    expect(
      toLine({ ...base, fields: { water_level_m: 1, rain_mm: Number.NaN }, tags: { grid: '', device: 'x' } }),
    ).toBe('flood,device=x water_level_m=1 1764000000123');
    expect(toLine({ ...base, fields: { water_level_m: Number.POSITIVE_INFINITY } })).toBeUndefined();
  });
});
