/** p50 / p99 / max of a sample (nearest-rank), ms. */
export function percentiles(xs: readonly number[]): { p50?: number; p99?: number; max?: number; n: number } {
  if (xs.length === 0) return { n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] as number, n: s.length };
}
