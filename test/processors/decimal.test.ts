import { describe, expect, it } from 'vitest';
import { roundSignificant } from '../../processors/metrics/decimal.js';

describe('roundSignificant: canonical values without binary noise', () => {
  it('gives back the decimal a conversion stands for', () => {
    expect(1751 * 0.001).not.toBe(1.751); // the noise this removes
    expect(roundSignificant(1751 * 0.001)).toBe(1.751);
    expect(roundSignificant(283.8 - 273.15)).toBe(10.65);
    expect(roundSignificant(97.7 * 0.01)).toBe(0.977);
    expect(roundSignificant(744.2 * 0.001)).toBe(0.7442);
    expect(String(roundSignificant(3961 * 0.001))).toBe('3.961');
  });

  it('keeps 12 significant digits of a value that has more', () => {
    expect(roundSignificant(14 / 3.6)).toBe(3.88888888889);
    expect(roundSignificant(-14 / 3.6)).toBe(-3.88888888889);
    expect(roundSignificant(123456.789012345)).toBe(123456.789012);
    expect(roundSignificant(0.000123456789012345)).toBe(0.000123456789012);
  });

  it('leaves exact values, integers, large and tiny values and non-finite ones alone', () => {
    for (const v of [0, 1, -1, 91.2, 0.1, 1e11, 123456789012345, 1e-12, -2.5e-15]) {
      expect(roundSignificant(v)).toBe(v);
    }
    expect(roundSignificant(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(roundSignificant(Number.NaN)).toBeNaN();
  });

  it('never gives -0', () => {
    expect(Object.is(roundSignificant(-0), 0)).toBe(true);
    expect(Object.is(roundSignificant(-0.1 * 3 + 0.3), -5.551115123125783e-17)).toBe(true);
  });

  it('is idempotent on its own results', () => {
    for (let i = 0; i < 2000; i++) {
      const v = (i * 7919.123) / 997 - 5000;
      const once = roundSignificant(v);
      expect(roundSignificant(once)).toBe(once);
      expect(Math.abs(once - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-11);
    }
  });
});
