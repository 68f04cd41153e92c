/**
 * A seeded xorshift32 generator in [0, 1): fuzz tests draw from it so that a failure names inputs
 * that fail again on the next run.
 */
export function seededRandom(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
