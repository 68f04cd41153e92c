import { describe, expect, it } from 'vitest';
import { LineBuffer, writeNumber } from '../../adapters/tsdb/line-buffer.js';
import { escapeKey, escapeMeasurement } from '../../adapters/tsdb/line-protocol.js';
import { isMetricName, METRICS } from '../../processors/metrics/catalogue.js';
import type { Reading } from '../../processors/types.js';
import { READINGS } from '../support/line-readings.js';
import { seededRandom } from '../support/random.js';

/** The oracle: the reading's line as one string, numbers by String(); undefined without a finite field. */
function toLine(r: Reading): string | undefined {
  const fields = Object.entries(r.fields)
    .filter(([, v]) => Number.isFinite(v))
    .map(
      ([k, v]) => `${escapeKey(k)}=${isMetricName(k) && METRICS[k].type === 'int' ? `${Math.round(v)}i` : v}`,
    );
  if (fields.length === 0) return undefined;
  const tags = Object.keys(r.tags)
    .sort()
    .filter((k) => r.tags[k] !== '')
    .map((k) => `,${escapeKey(k)}=${escapeKey(r.tags[k]!)}`);
  return `${escapeMeasurement(r.measurement)}${tags.join('')} ${fields.join(',')} ${Math.round(r.time)}`;
}

describe('LineBuffer', () => {
  it('encodes exactly the UTF-8 of the lines the oracle builds, one per reading with a finite field', () => {
    const lb = new LineBuffer(64); // small: forces the buffer to grow
    const appended = READINGS.map((r) => lb.append(r));
    expect(appended).toEqual(READINGS.map((r) => toLine(r) !== undefined));
    const { buffer, byteLength, lines } = lb.take();
    const expected = READINGS.map(toLine).filter((l): l is string => l !== undefined);
    expect(lines).toBe(expected.length);
    expect(new TextDecoder().decode(new Uint8Array(buffer, 0, byteLength))).toBe(`${expected.join('\n')}\n`);
  });

  it('take() hands a nearly full buffer over whole and copies a small one out; later lines never touch either', () => {
    const r = READINGS[0] as Reading;
    const line = `${toLine(r)}\n`;
    const lb = new LineBuffer(line.length * 3);
    lb.append(r);
    const small = lb.take(); // a third full: copied to a buffer of its own size
    expect(small.buffer.byteLength).toBe(small.byteLength);
    lb.append(r);
    lb.append(r);
    const full = lb.take(); // two thirds full: the buffer itself
    expect(full.buffer.byteLength).toBeGreaterThan(full.byteLength);
    for (let i = 0; i < 3; i++) lb.append(READINGS[1] as Reading);
    lb.take();
    const text = (t: { buffer: ArrayBuffer; byteLength: number }) =>
      new TextDecoder().decode(new Uint8Array(t.buffer, 0, t.byteLength));
    expect(text(small)).toBe(line);
    expect(text(full)).toBe(line + line);
  });

  it('starts empty again after take(), and says which readings make no line', () => {
    const lb = new LineBuffer();
    lb.append(READINGS[0] as Reading);
    lb.take();
    expect([lb.lines, lb.bytes]).toEqual([0, 0]);
    expect(LineBuffer.hasLine(READINGS[4] as Reading)).toBe(false);
    expect(LineBuffer.hasLine(READINGS[0] as Reading)).toBe(true);
  });
});

describe('writeNumber', () => {
  const text = (v: number) => {
    const buf = new Uint8Array(64);
    return Buffer.from(buf.subarray(0, writeNumber(buf, 0, v))).toString('latin1');
  };

  it('writes what String() writes, for 300,000 values of every kind', () => {
    const rand = seededRandom(0x9e3779b9);
    const values = [
      0,
      -0,
      1,
      -1,
      0.001,
      -0.001,
      0.0005,
      0.0015,
      999_999_999.999,
      1e9,
      1e9 + 0.5,
      1e21,
      5e-324,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      2 ** 53,
      1_764_000_000_123,
      1e12 + 7,
    ];
    for (let i = 0; i < 100_000; i++) {
      const k = Math.floor(rand() * 5);
      const n = Math.floor((rand() - 0.3) * 10 ** Math.floor(rand() * 12));
      values.push(n / 10 ** k, n * 10 ** -k, (rand() - 0.5) * 10 ** Math.floor(rand() * 14 - 4));
    }
    const wrong = values.filter((v) => text(v) !== String(v)).slice(0, 5);
    expect(wrong.map((v) => [String(v), text(v)])).toEqual([]);
  });
});
