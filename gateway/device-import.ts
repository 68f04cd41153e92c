import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { GridgateError } from '../processors/errors.js';
import {
  type CsvRows,
  DEVICE_CSV_OPTIONS,
  rowToInput,
  scrubCsvError,
  unknownColumns,
} from '../processors/registry/csv.js';
import type { DeviceRegistry } from '../processors/registry/types.js';
import type { LocatedRow } from '../processors/registry/validate.js';
import { parseDeviceYaml } from '../processors/registry/yaml.js';

/**
 * `devices.import`: a YAML or CSV device file imported into the registry at start. Every row is
 * validated first and nothing is imported if one is bad; importing the same file again changes
 * nothing, so it is safe on every start. CSV is parsed as it is read (the same parser the HTTP
 * import streams a request body through); YAML is one document and is read whole.
 */
export async function importDeviceFile(registry: DeviceRegistry, path: string, by: string) {
  const source = basename(path);
  let parsed: CsvRows;
  try {
    parsed =
      extname(path).toLowerCase() === '.csv'
        ? await parseDeviceCsvStream(createReadStream(path))
        : parseDeviceYaml(await readFile(path, 'utf8'));
  } catch (err) {
    if (err instanceof GridgateError) throw err;
    throw new GridgateError(
      'GG_ERR_DEVICES_INVALID',
      `cannot read device file ${path}`,
      [(err as Error).message],
      { cause: err },
    );
  }
  return registry.importRows(documentRows(parsed, source), by, source);
}

/** The rows of a parsed device document; one that could not be read throws, naming each bad line. */
export function documentRows(parsed: CsvRows, source: string): LocatedRow[] {
  if (parsed.errors.length === 0) return parsed.rows;
  throw new GridgateError(
    'GG_ERR_DEVICES_INVALID',
    `${source} could not be read; nothing was imported`,
    parsed.errors.map((e) => `${source}:${e.line}: ${e.message}`),
  );
}

export interface CsvStreamLimit {
  maxBytes: number;
  /** The error to fail with past maxBytes (the HTTP route's 413). */
  tooLarge: () => Error;
}

/** Counts bytes on their way to the parser and fails the stream past the limit. */
function byteLimit(limit: CsvStreamLimit) {
  return async function* (chunks: AsyncIterable<string | Buffer>) {
    let seen = 0;
    for await (const chunk of chunks) {
      seen += Buffer.byteLength(chunk);
      if (seen > limit.maxBytes) throw limit.tooLarge();
      yield chunk;
    }
  };
}

/**
 * The CSV device format (processors/registry/csv.ts) parsed from a stream: rows are built as bytes
 * arrive, so a large import never holds its text and its rows at once. Syntax and header problems
 * come back in `errors` like `parseDeviceCsv`; a read error or the byte limit rejects.
 */
export async function parseDeviceCsvStream(
  input: NodeJS.ReadableStream,
  limit?: CsvStreamLimit,
): Promise<CsvRows> {
  const rows: LocatedRow[] = [];
  const errors: CsvRows['errors'] = [];
  const parser = parse(DEVICE_CSV_OPTIONS);
  const collect = async (
    records: AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>,
  ) => {
    for await (const { record, info } of records) {
      if (rows.length === 0) {
        const bad = unknownColumns(Object.keys(record));
        // The rest is not read: the header already makes the file unusable.
        if (bad) {
          errors.push(bad);
          return;
        }
      }
      rows.push({ line: info.lines, input: rowToInput(record) });
    }
  };
  try {
    if (limit) await pipeline(input, byteLimit(limit), parser, collect);
    else await pipeline(input, parser, collect);
  } catch (err) {
    const e = err as { code?: string; message?: string; lines?: number };
    // csv-parse's own errors (CSV_*) are the file's problems; anything else is the stream's.
    if (typeof e.code !== 'string' || !e.code.startsWith('CSV_')) throw err;
    // The message may quote a cell, and a cell may be a password: scrubbed as the text parser does.
    return { rows: [], errors: [{ line: e.lines ?? 1, message: scrubCsvError(e.message ?? String(err)) }] };
  }
  return errors.length > 0 ? { rows: [], errors } : { rows, errors };
}
