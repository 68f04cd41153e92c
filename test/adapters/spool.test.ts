import { describe, expect, it } from 'vitest';
import { type LineBatch, MemorySpool } from '../../adapters/tsdb/spool.js';

const batch = (...lines: string[]): LineBatch => ({
  body: Buffer.from(lines.map((l) => `${l}\n`).join('')),
  lines: lines.length,
});
const text = (b: LineBatch) => Buffer.from(b.body).toString();

describe('MemorySpool', () => {
  it('drains batches oldest first and empties', async () => {
    const spool = new MemorySpool(10);
    await spool.push(batch('a', 'b'));
    await spool.push(batch('c'));
    expect(spool.lines).toBe(3);
    const out: string[] = [];
    for await (const b of spool.drain()) out.push(text(b));
    expect(out).toEqual(['a\nb\n', 'c\n']);
    expect(spool.lines).toBe(0);
  });

  it('drops the oldest batches beyond its bound and counts them', async () => {
    const spool = new MemorySpool(3);
    await spool.push(batch('a', 'b'));
    await spool.push(batch('c', 'd'));
    expect(spool.lines).toBe(2);
    expect(spool.droppedLines).toBe(2);
    const out: string[] = [];
    for await (const b of spool.drain()) out.push(text(b));
    expect(out).toEqual(['c\nd\n']);
  });
});
