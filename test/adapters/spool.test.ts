import { describe, expect, it } from 'vitest';
import { MemorySpool } from '../../adapters/tsdb/spool.js';

describe('MemorySpool', () => {
  it('drains batches oldest first and empties', async () => {
    const spool = new MemorySpool(10);
    await spool.push(['a', 'b']);
    await spool.push(['c']);
    const out: string[][] = [];
    for await (const b of spool.drain()) out.push(b);
    expect(out).toEqual([['a', 'b'], ['c']]);
    expect(spool.lines).toBe(0);
  });

  it('drops the oldest batches beyond its bound and counts them', async () => {
    const spool = new MemorySpool(3);
    await spool.push(['a', 'b']);
    await spool.push(['c', 'd']);
    expect(spool.lines).toBe(2);
    expect(spool.droppedLines).toBe(2);
    const out: string[][] = [];
    for await (const b of spool.drain()) out.push(b);
    expect(out).toEqual([['c', 'd']]);
  });
});
