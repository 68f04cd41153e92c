/**
 * Canonical values without binary noise. A unit conversion of a vendor's decimal (1751 mm × 0.001,
 * 283.8 K − 273.15) lands a few units in the last place beside the decimal it stands for
 * (1.7510000000000001, 10.650000000000034); stored as it is, that noise is what every dashboard,
 * export and alert message shows. Rounding to 12 significant digits keeps everything a sensor can
 * measure (none resolves 1 part in 10^12) and gives back the double nearest the decimal, which is
 * what `String()` — and so line protocol — writes in its short form.
 */

/** Significant digits kept: well above any sensor's resolution, well below a double's ~15.9. */
export const SIGNIFICANT_DIGITS = 12;

/** 10^0 .. 10^22: the powers of ten a double holds exactly, so n / 10^k is correctly rounded. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * `v` rounded to SIGNIFICANT_DIGITS significant digits, as the double nearest that decimal; -0
 * becomes 0. Values of 10^11 and more (no decimals to clean) and below 10^-11 are returned as they are.
 */
export function roundSignificant(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v + 0;
  // Decimals to keep. log10 can be one off next to a power of ten: one digit more or less, harmless.
  const k = SIGNIFICANT_DIGITS - 1 - Math.floor(Math.log10(v < 0 ? -v : v));
  if (k <= 0 || k >= POW10.length) return v;
  const p = POW10[k] as number;
  // |v| × p < 10^12 < 2^53: the integer is exact, and dividing by an exact power of ten rounds once.
  return Math.round(v * p) / p + 0;
}
