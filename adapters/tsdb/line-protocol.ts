import { isMetricName, METRICS } from '../../processors/metrics/catalogue.js';
import type { Reading } from '../../processors/types.js';

/**
 * Reading -> one line of InfluxDB line protocol with millisecond timestamps. Built by hand rather
 * than with the client's Point: one string per reading and no intermediate objects on the hot path
 * (issue 6 benchmarks it).
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

function fieldValue(name: string, value: number): string {
  // Integer fields carry the `i` suffix; a bare number is a float (line protocol "Field values").
  return isMetricName(name) && METRICS[name].type === 'int' ? `${Math.round(value)}i` : String(value);
}

/** undefined when the reading has no finite field (a line needs at least one). */
export function toLine(reading: Reading): string | undefined {
  let fields = '';
  for (const name in reading.fields) {
    const v = reading.fields[name]!;
    if (!Number.isFinite(v)) continue;
    fields += `${fields === '' ? '' : ','}${escapeKey(name)}=${fieldValue(name, v)}`;
  }
  if (fields === '') return undefined;
  let line = escapeMeasurement(reading.measurement);
  // Tags sorted by key: the order InfluxDB stores them in, cheapest for it to index.
  const keys = Object.keys(reading.tags).sort();
  for (const k of keys) {
    const v = reading.tags[k]!;
    // Line protocol cannot carry an empty tag value; an absent tag means the same.
    if (v === '') continue;
    line += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  return `${line} ${fields} ${Math.round(reading.time)}`;
}
