import { describe, expect, it } from 'vitest';
import { LineBuffer } from '../../adapters/tsdb/line-buffer.js';
import {
  type ReadingBatch,
  ReadingBatchReader,
  ReadingBatchWriter,
} from '../../adapters/tsdb/reading-batch.js';
import type { Reading } from '../../processors/types.js';
import { READINGS } from '../support/line-readings.js';
import { seededRandom } from '../support/random.js';

/** What LineBuffer.append writes for the readings, on one thread. */
function direct(readings: readonly Reading[]): string {
  const lb = new LineBuffer(64);
  for (const r of readings) lb.append(r);
  const { buffer, byteLength } = lb.take();
  return Buffer.from(buffer, 0, byteLength).toString('utf8');
}

/** The batch read back into lines, as the writer thread does. */
function lines(reader: ReadingBatchReader, batch: ReadingBatch): { text: string; lines: number } {
  const out = new LineBuffer(64);
  reader.read(batch, out);
  const { buffer, byteLength, lines } = out.take();
  return { text: Buffer.from(buffer, 0, byteLength).toString('utf8'), lines };
}

/** A batch as the writer thread receives it: a structured clone with the two buffers transferred. */
function posted(batch: ReadingBatch): ReadingBatch {
  return structuredClone(batch, { transfer: [batch.ints, batch.nums] });
}

function many(n: number, devices: number, seed = 7): Reading[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i): Reading => {
    const d = Math.floor(rand() * devices);
    const fields: Record<string, number> =
      i % 3 === 0
        ? { battery_v: Math.round(rand() * 400) / 100, rssi_dbm: -Math.round(rand() * 40 + 60) }
        : { pm10_ugm3: rand() * 150, pm25_ugm3: Math.round(rand() * 800) / 10, noise_dba: 55.5 };
    return {
      device: `dev-${d}`,
      measurement: i % 3 === 0 ? 'device' : 'dust',
      time: 1_764_000_000_000 + i,
      fields,
      tags: { device: `dev-${d}`, district: '龙亭区', grid: `g${d % 7}` },
    };
  });
}

describe('reading batches: readings taken apart on one thread, written out as lines on another', () => {
  it('give exactly the bytes LineBuffer.append gives, and skip readings without a finite field', () => {
    const w = new ReadingBatchWriter(1); // tiny: the arrays grow while readings are appended
    expect(READINGS.map((r) => w.append(r))).toEqual(READINGS.map((r) => LineBuffer.hasLine(r)));
    const got = lines(new ReadingBatchReader(), posted(w.take()));
    expect(got.text).toBe(direct(READINGS));
    expect(got.lines).toBe(READINGS.filter((r) => LineBuffer.hasLine(r)).length);
  });

  it('a reading with more fields than fit goes through whole', () => {
    const fields: Record<string, number> = {};
    for (let i = 0; i < 300; i++) fields[`f${i}`] = i / 8;
    const r: Reading = { device: 'wide', measurement: 'dust', time: 5, fields, tags: { device: 'wide' } };
    const w = new ReadingBatchWriter(1);
    w.append(READINGS[0] as Reading);
    w.append(r);
    expect(lines(new ReadingBatchReader(), posted(w.take())).text).toBe(direct([READINGS[0] as Reading, r]));
  });

  it('define each prefix and field name once, and every batch reads back, full or not', () => {
    const readings = many(6000, 50);
    const w = new ReadingBatchWriter(256);
    const reader = new ReadingBatchReader();
    let text = '';
    const batches: ReadingBatch[] = [];
    for (let i = 0; i < readings.length; i++) {
      w.append(readings[i] as Reading);
      // Batches of uneven size: some hand their arrays over whole, some are copied out.
      if (i % 997 === 0 || i % 2000 === 1999) batches.push(w.take());
    }
    batches.push(w.take());
    for (const b of batches) text += lines(reader, posted(b)).text;
    expect(text).toBe(direct(readings));
    const defined = batches.reduce((s, b) => s + b.prefixes.length, 0);
    expect(defined).toBe(100); // 50 devices x 2 measurements
    expect(batches.reduce((s, b) => s + b.keys.length, 0)).toBe(5);
    expect(batches.at(-1)?.prefixes).toEqual([]);
  });

  it('after restart() the next batch defines everything again, for a new reader', () => {
    const readings = many(400, 20);
    const w = new ReadingBatchWriter();
    for (const r of readings.slice(0, 200)) w.append(r);
    lines(new ReadingBatchReader(), posted(w.take())); // the reader that then dies
    for (const r of readings.slice(200)) w.append(r);
    w.restart();
    const next = w.take();
    expect(next.prefixFrom).toBe(0);
    expect(next.keyFrom).toBe(0);
    expect(lines(new ReadingBatchReader(), posted(next)).text).toBe(direct(readings.slice(200)));
  });

  it('a reader that missed the definitions refuses the batch instead of writing wrong lines', () => {
    const w = new ReadingBatchWriter();
    for (const r of many(10, 3)) w.append(r);
    w.take(); // never read
    for (const r of many(10, 3, 8)) w.append(r);
    expect(() => lines(new ReadingBatchReader(), posted(w.take()))).toThrow(/never defined|defines from/);
  });

  it('tables start over past their bound, and the reader follows', () => {
    const readings = many(3000, 400);
    const w = new ReadingBatchWriter(64, 50);
    const reader = new ReadingBatchReader();
    let text = '';
    let resets = 0;
    for (let i = 0; i < readings.length; i += 100) {
      for (const r of readings.slice(i, i + 100)) w.append(r);
      const b = w.take();
      if (b.reset) resets++;
      expect(w.prefixes).toBeLessThan(50);
      text += lines(reader, posted(b)).text;
    }
    expect(resets).toBeGreaterThan(3);
    expect(text).toBe(direct(readings));
  });
});
