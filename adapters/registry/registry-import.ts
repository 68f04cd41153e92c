/**
 * The registry's bulk path: a device file imported in one go. Every row is validated, and every
 * HJ 212 MN checked against other devices, before anything is written; the write goes in chunks.
 */
import type { Redis } from 'ioredis';
import { GridgateError } from '../../processors/errors.js';
import type { DeviceRecord, KnownModels } from '../../processors/registry/device-schema.js';
import { keepUnexported, sameContent, stamp } from '../../processors/registry/records.js';
import type { ChangeAction, ImportResult, ImportRow, RowProblem } from '../../processors/registry/types.js';
import { RowsRejected, validateRows } from '../../processors/registry/validate.js';
import { type PendingChange, type RegistryKeys, retryOnConflict } from './registry-commit.js';

/** Devices per Lua commit in a bulk import. */
const IMPORT_CHUNK = 2000;

/** What the import needs of the registry. */
export interface ImportTarget {
  redis: Redis;
  keys: RegistryKeys;
  knownModels: KnownModels;
  now(): string;
  /** Commit and apply locally (the registry's own write path). */
  commit(action: ChangeAction, pending: readonly PendingChange[], by: string): Promise<void>;
}

export async function importDeviceRows(
  t: ImportTarget,
  rows: readonly ImportRow[],
  by: string,
  source: string,
): Promise<ImportResult> {
  const { devices, problems } = validateRows(rows, t.knownModels);
  if (problems.length > 0) throw new RowsRejected(problems, source);
  // Every row is valid before anything is written. The write goes in chunks: one Lua call with a
  // whole large fleet would overflow argument lists (and block Redis for its whole run). A chunk
  // that fails leaves the earlier ones imported; importing the same file again completes it and
  // changes nothing that is already there.
  const taken = await mnConflicts(t, devices, rows);
  if (taken.length > 0) throw new RowsRejected(taken, source);
  const result: ImportResult = { created: 0, updated: 0, unchanged: 0 };
  for (let start = 0; start < devices.length; start += IMPORT_CHUNK) {
    const end = start + IMPORT_CHUNK;
    const r = await importChunk(t, devices.slice(start, end), rows.slice(start, end), by).catch(
      (err: Error) => {
        if (start === 0) throw err;
        throw new GridgateError(
          'GG_ERR_CONFLICT',
          `${source}: the first ${start} of ${devices.length} devices were imported, then: ${err.message}`,
          ['importing the same file again completes it (rows already imported are unchanged)'],
          { cause: err },
        );
      },
    );
    result.created += r.created;
    result.updated += r.updated;
    result.unchanged += r.unchanged;
  }
  return result;
}

/** Rows whose HJ 212 MN already belongs to another device (moving an MN between devices takes two imports). */
async function mnConflicts(
  t: ImportTarget,
  devices: readonly DeviceRecord[],
  rows: readonly ImportRow[],
): Promise<RowProblem[]> {
  const withMn = devices.map((d, i) => ({ d, i, mn: d.hj212?.mn })).filter((x) => x.mn !== undefined);
  const problems: RowProblem[] = [];
  for (let k = 0; k < withMn.length; k += IMPORT_CHUNK) {
    const part = withMn.slice(k, k + IMPORT_CHUNK);
    const owners = await t.redis.hmget(t.keys.mn, ...part.map((x) => x.mn as string));
    part.forEach((x, j) => {
      const owner = owners[j];
      if (!owner || owner === x.d.id) return;
      const line = rows[x.i]?.line ?? 0;
      problems.push({
        line,
        id: x.d.id,
        problems: [{ line, message: `hj212.mn: MN '${x.mn}' already belongs to device '${owner}'` }],
      });
    });
  }
  return problems;
}

function importChunk(
  t: ImportTarget,
  devices: readonly DeviceRecord[],
  rows: readonly ImportRow[],
  by: string,
): Promise<ImportResult> {
  return retryOnConflict(async () => {
    const raws = await t.redis.hmget(t.keys.devices, ...devices.map((d) => d.id));
    const at = t.now();
    const pending: PendingChange[] = [];
    const result: ImportResult = { created: 0, updated: 0, unchanged: 0 };
    devices.forEach((d, i) => {
      const expected = raws[i] ?? '';
      const before = expected === '' ? null : (JSON.parse(expected) as DeviceRecord);
      const next = keepUnexported(d, rows[i]?.input, before);
      if (before && sameContent(before, next)) {
        result.unchanged++;
        return;
      }
      if (before) result.updated++;
      else result.created++;
      pending.push({ id: d.id, expected, before, after: stamp(next, before, by, at) });
    });
    if (pending.length > 0) await t.commit('import', pending, by);
    return result;
  });
}
