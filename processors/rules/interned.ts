/**
 * One frozen array per distinct list, kept in `pool`: lists that thousands of devices hold alike
 * (a measurement's field names, the rules a district's devices trigger) are stored once. Past
 * `max` lists the pool stops growing, and a new list is its own frozen copy.
 */
export function internList<T extends string | number>(
  pool: Map<string, readonly T[]>,
  list: readonly T[],
  max = Number.POSITIVE_INFINITY,
): readonly T[] {
  const id = list.join('\u0000');
  let shared = pool.get(id);
  if (shared === undefined) {
    shared = Object.freeze([...list]);
    if (pool.size < max) pool.set(id, shared);
  }
  return shared;
}
