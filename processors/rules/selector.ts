import { type Device, LOCATION_KEYS } from '../types.js';
import type { Selector } from './schema.js';

/** `*` matches anything; `鼓楼*` matches a prefix; anything else matches exactly. */
function globMatcher(pattern: string): (v: string) => boolean {
  if (pattern === '*') return () => true;
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (v) => v.startsWith(prefix);
  }
  return (v) => v === pattern;
}

export type DeviceMatcher = (device: Device) => boolean;

export function compileSelector(sel: Selector): DeviceMatcher {
  const checks: DeviceMatcher[] = [];
  if (sel.family) {
    const fams = new Set<string>(sel.family);
    checks.push((d) => fams.has(d.family));
  }
  if (sel.model) {
    const models = sel.model.map(globMatcher);
    checks.push((d) => models.some((m) => m(d.model)));
  }
  for (const [k, v] of Object.entries(sel.labels ?? {})) {
    const m = globMatcher(v);
    checks.push((d) => d.labels[k] !== undefined && m(d.labels[k]));
  }
  for (const key of LOCATION_KEYS) {
    const pattern = sel.location?.[key];
    if (pattern === undefined) continue;
    const m = globMatcher(pattern);
    checks.push((d) => m(d.location[key]));
  }
  return (d) => {
    for (const c of checks) if (!c(d)) return false;
    return true;
  };
}
