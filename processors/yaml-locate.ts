import { isMap, isNode, isPair, isScalar, isSeq, type Node } from 'yaml';

/**
 * Offset in the source of the deepest node along `path` that exists (a missing key points at its
 * parent, a key with no value at the key), so a schema problem found on the parsed value can be
 * reported at its file line. Keys compare as strings: a YAML key `1` and a path segment '1' match.
 */
export function locateYamlPath(root: unknown, path: readonly (string | number)[]): number {
  let node: unknown = root;
  let offset = isNode(root) ? (root.range?.[0] ?? 0) : 0;
  for (const key of path) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key),
      );
      if (pair) {
        next = pair.value ?? pair.key;
        if (next === null && isNode(pair.key)) next = pair.key;
      }
    } else if (isSeq(node) && typeof key === 'number') {
      next = node.items[key];
    }
    if (!isNode(next)) break;
    node = next;
    offset = (next as Node).range?.[0] ?? offset;
  }
  return offset;
}
