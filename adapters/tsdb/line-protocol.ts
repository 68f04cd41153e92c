import { isMetricName, METRICS } from '../../processors/metrics/catalogue.js';
import type { Reading } from '../../processors/types.js';

/**
 * The parts of a line of InfluxDB line protocol that repeat from reading to reading, escaped and
 * encoded once and cached: the `measurement,tags` prefix per device and the `key=` of each field.
 * LineBuffer writes lines from them.
 *
 * Line protocol: measurement names escape comma and space; tag keys, tag values and field keys
 * escape comma, equals and space (InfluxDB line protocol reference, "Special characters"). Other
 * characters, including CJK such as 鼓楼区, go through as UTF-8 unchanged.
 */

const MEASUREMENT_SPECIAL = /[, \n\r\t]/;
const MEASUREMENT_SPECIAL_G = /[, \n\r\t]/g;
const KEY_SPECIAL = /[, =\n\r\t]/;
const KEY_SPECIAL_G = /[, =\n\r\t]/g;

function escapeChar(c: string): string {
  // A line ends at a newline and line protocol has no escape for it; control whitespace becomes a space.
  return c === ',' || c === ' ' || c === '=' ? `\\${c}` : '\\ ';
}

export function escapeMeasurement(s: string): string {
  return MEASUREMENT_SPECIAL.test(s) ? s.replace(MEASUREMENT_SPECIAL_G, escapeChar) : s;
}

export function escapeKey(s: string): string {
  return KEY_SPECIAL.test(s) ? s.replace(KEY_SPECIAL_G, escapeChar) : s;
}

/** `escapedKey=` and whether the field is an integer, per field name: one Map lookup per field on the hot path. */
export interface FieldKey {
  /** `escapedKey=` as UTF-8. */
  readonly bytes: Uint8Array;
  readonly int: boolean;
}
const FIELD_KEYS = new Map<string, FieldKey>();
const MAX_FIELD_KEYS = 10_000;

export function fieldKey(name: string): FieldKey {
  let k = FIELD_KEYS.get(name);
  if (k === undefined) {
    // Integer fields carry the `i` suffix; a bare number is a float (line protocol "Field values").
    k = {
      bytes: Buffer.from(`${escapeKey(name)}=`),
      int: isMetricName(name) && METRICS[name].type === 'int',
    };
    // Field names come from the catalogue, so this stays small; the bound is against the unexpected.
    if (FIELD_KEYS.size < MAX_FIELD_KEYS) FIELD_KEYS.set(name, k);
  }
  return k;
}

/**
 * A device's tag set, `,k=v,...` sorted by key (the order InfluxDB stores them in, cheapest for it
 * to index): a device's readings carry the same tags (each reading its own copy), so checking the
 * values against the last set is cheaper than sorting and escaping again. Bounded: past
 * MAX_CACHED_DEVICES the cache starts over (correct, only slower, for larger fleets).
 */
interface CachedTags {
  /** The tags object it was built from: a device's readings share one frozen object, so identity is the fast check. */
  readonly obj: Readonly<Record<string, string>>;
  readonly keys: readonly string[];
  readonly values: readonly string[];
  readonly str: string;
  /** `measurement,tags` as UTF-8 per measurement; goes with the entry when the tags change. */
  readonly prefixes: Map<string, Uint8Array>;
}
const TAGS_BY_DEVICE = new Map<string, CachedTags>();
const MAX_CACHED_DEVICES = 20_000;

function sameTags(c: CachedTags, tags: Readonly<Record<string, string>>): boolean {
  const { keys, values } = c;
  let n = 0;
  for (const _k in tags) {
    n++;
    if (n > keys.length) return false;
  }
  if (n !== keys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (!Object.hasOwn(tags, k) || tags[k] !== values[i]) return false;
  }
  return true;
}

/** The device's cache entry, made again when its tags differ from the cached ones. */
function cachedTags(device: string, tags: Readonly<Record<string, string>>): CachedTags {
  const cached = TAGS_BY_DEVICE.get(device);
  if (cached !== undefined) {
    // A frozen object cannot have changed since it was cached; anything else is compared by value.
    if (cached.obj === tags && Object.isFrozen(tags)) return cached;
    if (sameTags(cached, tags)) return cached;
  }
  let str = '';
  const keys = Object.keys(tags).sort();
  const values: string[] = [];
  for (const k of keys) {
    const v = tags[k]!;
    values.push(v);
    // Line protocol cannot carry an empty tag value; an absent tag means the same.
    if (v === '') continue;
    str += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  if (cached === undefined && TAGS_BY_DEVICE.size >= MAX_CACHED_DEVICES) TAGS_BY_DEVICE.clear();
  const entry = { obj: tags, keys, values, str, prefixes: new Map<string, Uint8Array>() };
  TAGS_BY_DEVICE.set(device, entry);
  return entry;
}

/** The reading's `measurement,tags` as UTF-8. */
export function prefixOf(r: Reading): Uint8Array {
  const tags = cachedTags(r.device, r.tags);
  let bytes = tags.prefixes.get(r.measurement);
  if (bytes === undefined) {
    bytes = Buffer.from(`${escapeMeasurement(r.measurement)}${tags.str}`);
    tags.prefixes.set(r.measurement, bytes);
  }
  return bytes;
}
