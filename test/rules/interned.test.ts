import { describe, expect, it } from 'vitest';
import { internList } from '../../processors/rules/interned.js';

describe('internList', () => {
  it('gives one frozen array per distinct list, and stops pooling past its bound', () => {
    const pool = new Map<string, readonly (string | number)[]>();
    const a = internList(pool, ['pm10_ugm3', 'pm25_ugm3']);
    expect(internList(pool, ['pm10_ugm3', 'pm25_ugm3'])).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(internList(pool, ['pm25_ugm3', 'pm10_ugm3'])).not.toBe(a);
    // Lists that join alike with a comma stay apart.
    expect(internList(pool, ['a,b'])).not.toBe(internList(pool, ['a', 'b']));
    expect(internList(pool, [1, 2])).toEqual([1, 2]);
    const full = new Map<string, readonly number[]>();
    internList(full, [1], 1);
    const over = internList(full, [2], 1);
    expect(over).toEqual([2]);
    expect(internList(full, [2], 1)).not.toBe(over);
    expect(full.size).toBe(1);
  });
});
