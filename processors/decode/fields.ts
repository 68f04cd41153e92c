import type { FieldMapping, FieldPath } from '../devices/define.js';
import type { DecodeReject } from './types.js';

/** Field access shared by the JSON and status decoders. Paths are pre-split by `metric()`. */

/**
 * The value at `path`, or undefined when any step is missing. Own properties only, so `constructor`
 * or `__proto__` never resolve to something inherited: what a parsed JSON value inherits is either
 * a function (no JSON value is one) or, through `__proto__`, the prototype, so only that name needs
 * the own-property check (a builtin call per step otherwise, on every field of every message).
 */
export function readPath(root: unknown, path: FieldPath): unknown {
  let v: unknown = root;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    const key = path[i] as string;
    const next = (v as Record<string, unknown>)[key];
    if (next === undefined || typeof next === 'function') return undefined;
    if (key === '__proto__' && !Object.hasOwn(v, key)) return undefined;
    v = next;
  }
  return v;
}

// Plain decimal only: Number() would also accept "0x1F", "  ", "1e999" and "Infinity".
const NUMERIC = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?\s*$/;

/**
 * A vendor value as a raw number. Numbers pass; numeric strings ("12.5") are accepted because many
 * vendors quote every value and rejecting them would drop good data; booleans count as 1/0 only for
 * `online`. Anything else (null, objects, non-numeric text, values that overflow to Infinity) is undefined.
 */
export function toRawNumber(value: unknown, allowBoolean: boolean): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') {
    if (value.length > 40 || !NUMERIC.test(value)) return undefined;
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  if (allowBoolean && typeof value === 'boolean') return value ? 1 : 0;
  return undefined;
}

/** A short, safe rendering of an offending value for a reject detail. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}…` : value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/**
 * Applies one mapping to the payload: `undefined` when the field is absent (not an error), a
 * canonical number when good, or pushes a wrong_type / out_of_range reject and returns NaN.
 */
export function mapField(root: unknown, m: FieldMapping, rejects: DecodeReject[]): number | undefined {
  const value = readPath(root, m.path);
  if (value === undefined) return undefined;
  const raw = toRawNumber(value, m.metric === 'online');
  if (raw === undefined) {
    rejects.push({
      reason: 'wrong_type',
      field: m.metric,
      detail: `${m.path.join('.')} is ${describeValue(value)}, expected a finite number`,
    });
    return Number.NaN;
  }
  const v = m.toCanonical(raw);
  if (!(v >= m.range[0] && v <= m.range[1])) {
    rejects.push({
      reason: 'out_of_range',
      field: m.metric,
      detail: `${m.path.join('.')}=${raw} ${m.sourceUnit} is ${v} as ${m.metric}, outside [${m.range[0]}, ${m.range[1]}]`,
    });
    return Number.NaN;
  }
  return v;
}
