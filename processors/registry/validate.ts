import { GridgateError } from '../errors.js';
import { type DeviceRecord, type KnownModels, validateDevice } from './device-schema.js';
import type { ImportRow, RowProblem } from './types.js';

export interface LocatedRow extends ImportRow {
  /** The line of a field inside the row, when the source knows it (YAML); else the row's line. */
  lineOf?: (path: readonly (string | number)[]) => number;
}

export interface ValidatedRows {
  devices: DeviceRecord[];
  problems: RowProblem[];
}

/**
 * Validates every row (never stopping at the first bad one) and checks that ids and HJ 212 MNs
 * are unique across the batch. `devices` is only meaningful when `problems` is empty.
 */
export function validateRows(rows: readonly LocatedRow[], knownModels: KnownModels): ValidatedRows {
  const devices: DeviceRecord[] = [];
  const problems: RowProblem[] = [];
  const idLine = new Map<string, number>();
  const mnLine = new Map<string, number>();
  for (const row of rows) {
    const r = validateDevice(row.input, knownModels);
    const id = idOf(row.input);
    const found: { line: number; message: string }[] = [];
    if (!r.ok) {
      for (const i of r.issues) {
        const where = i.path.length > 0 ? i.path.join('.') : '(device)';
        found.push({ line: row.lineOf ? row.lineOf(i.path) : row.line, message: `${where}: ${i.message}` });
      }
    }
    if (id !== undefined) {
      const prev = idLine.get(id);
      if (prev !== undefined)
        found.push({ line: row.line, message: `id: duplicate id '${id}' (first on line ${prev})` });
      else idLine.set(id, row.line);
    }
    if (r.ok && r.device.hj212) {
      const prev = mnLine.get(r.device.hj212.mn);
      if (prev !== undefined)
        found.push({
          line: row.line,
          message: `hj212.mn: duplicate MN '${r.device.hj212.mn}' (first on line ${prev})`,
        });
      else mnLine.set(r.device.hj212.mn, row.line);
    }
    if (found.length > 0)
      problems.push({ line: row.line, ...(id !== undefined ? { id } : {}), problems: found });
    else if (r.ok) devices.push(r.device);
  }
  return { devices, problems };
}

function idOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const id = (input as Record<string, unknown>).id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** One line per problem, `source:line device 'id': path: message`, for errors and CLI output. */
export function formatProblems(problems: readonly RowProblem[], source: string): string[] {
  const out: string[] = [];
  for (const p of problems) {
    const who = p.id !== undefined ? ` device '${p.id}'` : '';
    for (const m of p.problems) out.push(`${source}:${m.line}${who}: ${m.message}`);
  }
  return out;
}

/** A batch refused because some rows are invalid; `problems` lists each bad row with its line. */
export class RowsRejected extends GridgateError {
  readonly problems: readonly RowProblem[];
  constructor(problems: readonly RowProblem[], source: string) {
    const details = formatProblems(problems, source);
    super(
      'GG_ERR_DEVICES_INVALID',
      `${problems.length} invalid row(s) in ${source}; nothing was imported. Fix them and import again`,
      details,
    );
    this.problems = problems;
  }
}
