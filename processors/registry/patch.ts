import type { DevicePatch } from './types.js';

/** RFC 7396 JSON merge patch: objects merge key-wise, `null` removes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys whose values are always strings, whatever they look like (`labels.batch=007`). */
const STRING_KEYS = new Set(['id', 'model', 'family', 'address', 'state']);
const STRING_PREFIXES = ['location.', 'labels.', 'hj212.', 'rtsp.'];
/** Keys whose values are lists, comma-separated on the command line. */
const LIST_KEYS = new Set(['cameras', 'covers']);
const NUMBER_KEYS = new Set(['lat', 'lon']);

/**
 * `gridgate devices set ID key=value ...` -> a merge patch. Dotted keys nest
 * (`attrs.warning_level_m=2.5`, `location.district=鼓楼区`); `key=` (empty) removes the key;
 * `attrs.*` values are typed (number, true/false, else string); `cameras=a,b` and `covers=a,b` are lists.
 */
export function assignmentsToPatch(assignments: readonly string[]): DevicePatch {
  const patch: DevicePatch = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new Error(`'${a}' is not key=value`);
    const key = a.slice(0, eq).trim();
    const raw = a.slice(eq + 1);
    const parts = key.split('.');
    let node: Record<string, unknown> = patch;
    for (const p of parts.slice(0, -1)) {
      const next = node[p];
      node[p] = typeof next === 'object' && next !== null ? next : {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = raw === '' ? null : typedValue(key, raw);
  }
  return patch;
}

function typedValue(key: string, raw: string): unknown {
  if (STRING_KEYS.has(key) || STRING_PREFIXES.some((p) => key.startsWith(p))) return raw;
  if (LIST_KEYS.has(key))
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (NUMBER_KEYS.has(key)) return Number(raw);
  return scalar(raw);
}

/** A cell or argument as a typed attribute value: a decimal number, true/false, else the string. */
export function scalar(raw: string): string | number | boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw)) return Number(raw);
  return raw;
}
