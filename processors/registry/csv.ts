import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { DEVICE_SECRET_PATHS, type DeviceRecord } from './device-schema.js';
import { scalar } from './patch.js';
import type { LocatedRow } from './validate.js';

/**
 * The CSV import/export format, one device per row, header row first (UTF-8, BOM tolerated):
 *
 *   id, model, family?, district, street, community, grid, address?, lat?, lon?, state?,
 *   cameras? (`;`-separated), hj212.mn?, hj212.password?, rtsp.url?, rtsp.subUrl?, rtsp.username?,
 *   rtsp.password?, rtsp.transport?, covers? (`;`-separated), attrs.<name>?..., labels.<name>?...
 *
 * An empty cell means "not set". `attrs.*` cells are typed: a decimal number, true/false, else text
 * (`attrs.warning_level_m` = 2.5). `labels.*` cells are always text. Calibration is not expressible
 * in CSV (use YAML or the API); importing a CSV row keeps an existing device's calibration.
 * Secrets (DEVICE_SECRET_PATHS) are read on import and never exported.
 */
export const CSV_COLUMNS = [
  'id',
  'model',
  'family',
  'district',
  'street',
  'community',
  'grid',
  'address',
  'lat',
  'lon',
  'state',
  'cameras',
  'hj212.mn',
  'hj212.password',
  'rtsp.url',
  'rtsp.subUrl',
  'rtsp.username',
  'rtsp.password',
  'rtsp.transport',
  'covers',
] as const;
const KNOWN = new Set<string>(CSV_COLUMNS);
const LOCATION = new Set(['district', 'street', 'community', 'grid']);
/** Columns holding a list, `;`-separated. */
const LISTS = new Set(['cameras', 'covers']);
/** Blocks whose fields are `<block>.<field>` columns, all text. */
const BLOCKS = ['hj212', 'rtsp'] as const;
const SECRET_COLUMNS = new Set<string>(DEVICE_SECRET_PATHS);

export interface CsvRows {
  rows: LocatedRow[];
  /** Header or syntax problems (`line: message`); rows are empty when any. */
  errors: { line: number; message: string }[];
}

/** How a device CSV is read, whole (here) or streamed (the HTTP import): a header row, with lines. */
export const DEVICE_CSV_OPTIONS = {
  columns: true,
  info: true,
  bom: true,
  skip_empty_lines: true,
  trim: true,
  relax_column_count: false,
} as const;

/** The header's problem, if it has columns the device CSV does not know (reported on line 1). */
export function unknownColumns(header: readonly string[]): { line: number; message: string } | undefined {
  const bad = header.filter((c) => !KNOWN.has(c) && !/^(attrs|labels)\.[A-Za-z_][A-Za-z0-9_]*$/.test(c));
  if (bad.length === 0) return undefined;
  return {
    line: 1,
    message: `unknown column(s) ${bad.map((c) => `'${c}'`).join(', ')}; expected ${CSV_COLUMNS.join(', ')}, attrs.<name>, labels.<name>`,
  };
}

export function parseDeviceCsv(text: string): CsvRows {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, DEVICE_CSV_OPTIONS);
  } catch (err) {
    const e = err as { message?: string; lines?: number };
    return { rows: [], errors: [{ line: e.lines ?? 1, message: scrubCsvError(e.message ?? String(err)) }] };
  }
  const bad = unknownColumns(records[0] ? Object.keys(records[0].record) : []);
  if (bad) return { rows: [], errors: [bad] };
  return { rows: records.map((r) => ({ line: r.info.lines, input: rowToInput(r.record) })), errors: [] };
}

/** One CSV record -> a device input for `validateDevice`. Values are typed, not validated. */
export function rowToInput(rec: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const location: Record<string, string> = {};
  const attrs: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const blocks: Record<string, Record<string, string>> = {};
  for (const [col, cell] of Object.entries(rec)) {
    if (cell === '') continue;
    const dot = col.indexOf('.');
    const head = dot < 0 ? col : col.slice(0, dot);
    if (LOCATION.has(col)) location[col] = cell;
    else if (col === 'lat' || col === 'lon') out[col] = numberOrText(cell);
    else if (LISTS.has(col))
      out[col] = cell
        .split(';')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    else if (head === 'attrs') attrs[col.slice(6)] = scalar(cell);
    else if (head === 'labels') labels[col.slice(7)] = cell;
    else if ((BLOCKS as readonly string[]).includes(head)) {
      const block = blocks[head] ?? {};
      block[col.slice(dot + 1)] = cell;
      blocks[head] = block;
    } else out[col] = cell;
  }
  // Always present, so a missing location column is reported as `location.<key>: required`.
  out.location = location;
  if (Object.keys(attrs).length > 0) out.attrs = attrs;
  if (Object.keys(labels).length > 0) out.labels = labels;
  for (const b of BLOCKS) if (blocks[b]) out[b] = blocks[b];
  return out;
}

/**
 * csv-parse quotes the cell it stopped at (`value is "..."`, `got "x"`); that cell may be a password
 * column, and the message goes to the CLI, the API and the logs. The line number says where.
 */
export function scrubCsvError(message: string): string {
  return message.replace(/,? value is .*$/, '').replace(/got ".*?"/, 'got an unexpected character');
}

function numberOrText(cell: string): number | string {
  const n = Number(cell);
  return Number.isFinite(n) ? n : cell;
}

/** Devices -> CSV text. Secrets (DEVICE_SECRET_PATHS) are never exported. */
export function devicesToCsv(devices: readonly DeviceRecord[]): string {
  const attrKeys = new Set<string>();
  const labelKeys = new Set<string>();
  for (const d of devices) {
    for (const k of Object.keys(d.attrs)) attrKeys.add(k);
    for (const k of Object.keys(d.labels)) labelKeys.add(k);
  }
  const fixed = CSV_COLUMNS.filter((c) => !SECRET_COLUMNS.has(c));
  const columns = [
    ...fixed,
    ...[...attrKeys].sort().map((k) => `attrs.${k}`),
    ...[...labelKeys].sort().map((k) => `labels.${k}`),
  ];
  const rows = devices.map((d) => {
    const row: Record<string, string> = {
      id: d.id,
      model: d.model,
      family: d.family,
      ...d.location,
      address: d.address ?? '',
      lat: d.lat === undefined ? '' : String(d.lat),
      lon: d.lon === undefined ? '' : String(d.lon),
      state: d.state,
      cameras: d.cameras.join(';'),
      'hj212.mn': d.hj212?.mn ?? '',
      'rtsp.url': d.rtsp?.url ?? '',
      'rtsp.subUrl': d.rtsp?.subUrl ?? '',
      'rtsp.username': d.rtsp?.username ?? '',
      'rtsp.transport': d.rtsp?.transport ?? '',
      covers: d.covers?.join(';') ?? '',
    };
    for (const k of attrKeys) row[`attrs.${k}`] = d.attrs[k] === undefined ? '' : String(d.attrs[k]);
    for (const k of labelKeys) row[`labels.${k}`] = d.labels[k] ?? '';
    return row;
  });
  return stringify(rows, { header: true, columns });
}
