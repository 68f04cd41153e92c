/**
 * MQTT topic-filter logic for the broker ACL (MQTT 3.1.1 §4.7). Pure functions: whether an allowed
 * filter covers a requested one (for subscribe: `alerts/#` covers `alerts/+/red` but not `#`), or a
 * topic (for publish).
 */

/** `$share/{group}/{filter}` (MQTT 5.0 §4.8.2): the ACL judges the inner filter. */
export function stripShare(filter: string): string {
  if (!filter.startsWith('$share/')) return filter;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? '' : rest.slice(slash + 1);
}

/**
 * True when every topic that `requested` can match is also matched by `allowed`. A topic name has
 * no wildcards [MQTT-3.3.2-2], so for one this says whether `allowed` matches it.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  // A filter starting with a wildcard never reaches '$' topics [MQTT-4.7.2-1]; '$...' needs a literal grant.
  if (requested.startsWith('$') && (allowed.startsWith('+') || allowed.startsWith('#'))) return false;
  const a = allowed.split('/');
  const r = requested.split('/');
  for (let i = 0; i < a.length; i++) {
    const level = a[i];
    // [MQTT-4.7.1-2] '#' also matches the parent level: `a/#` matches `a`.
    if (level === '#') return true;
    const want = r[i];
    if (want === undefined) return false;
    if (want === '#') return false; // only '#' covers '#'
    if (level === '+') continue; // covers any one level, '+' included
    if (want !== level) return false;
  }
  return a.length === r.length;
}

/** Valid filter per MQTT 3.1.1 §4.7.1: '#' only last and alone in its level, '+' alone in its level. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as string;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
    if (l.includes('+') && l !== '+') return false;
  }
  return true;
}
