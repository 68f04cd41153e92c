import type { Redis } from 'ioredis';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import type { ChangeAction, DeviceChange } from '../../processors/registry/types.js';

/** The newest `count` (default 100) entries of the registry's audit stream, of one device if `id` is given. */
export async function readAudit(
  redis: Redis,
  auditKey: string,
  opts: { id?: string; count?: number } = {},
): Promise<DeviceChange[]> {
  const want = opts.count ?? 100;
  const out: DeviceChange[] = [];
  let end = '+';
  // Walk back through the stream in pages until enough entries for the id are found.
  for (let page = 0; page < 100 && out.length < want; page++) {
    const entries = await redis.xrevrange(auditKey, end, '-', 'COUNT', 500);
    for (const [, fields] of entries) {
      const f = fieldsOf(fields);
      if (opts.id !== undefined && f.id !== opts.id) continue;
      out.push({
        action: f.action as ChangeAction,
        id: f.id ?? '',
        by: f.by ?? '',
        at: f.at ?? '',
        before: f.before ? (JSON.parse(f.before) as DeviceRecord) : null,
        after: f.after ? (JSON.parse(f.after) as DeviceRecord) : null,
      });
      if (out.length >= want) break;
    }
    const last = entries[entries.length - 1];
    if (entries.length < 500 || !last) break;
    end = `(${last[0]}`;
  }
  return out;
}

function fieldsOf(flat: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}
