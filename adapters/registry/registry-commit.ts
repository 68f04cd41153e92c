/**
 * Writes to the Redis registry: one Lua call per change set, compare-and-set on the exact JSON each
 * device was read as, and the retry policy for a lost race.
 */
import type { Redis } from 'ioredis';
import { GridgateError } from '../../processors/errors.js';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import { auditJson } from '../../processors/registry/records.js';
import type { ChangeAction } from '../../processors/registry/types.js';

/**
 * Every registry write is this one script, so a change is atomic across instances: all devices of
 * the batch are compared against the exact JSON the writer read (optimistic concurrency: a
 * concurrent writer makes this one retry instead of losing its change), then written with their
 * MN index entries and audit entries, the version is bumped and the change published. A MULTI
 * would not do: it cannot compare-and-set, and it does not roll back when one command fails.
 *
 * KEYS: devices hash, MN index hash, audit stream, version counter.
 * ARGV: channel, audit MAXLEN, by, at, action, ids JSON, n, then per device:
 *       id, expected JSON ('' = absent), new JSON, old MN, new MN, audit before, audit after.
 * Returns the new version, or an error reply `CONFLICT <id>` / `MNTAKEN <mn> <owner>`.
 */
const COMMIT_SCRIPT = `
local n = tonumber(ARGV[7])
local base = 8
for i = 0, n - 1 do
  local o = base + i * 7
  local cur = redis.call('HGET', KEYS[1], ARGV[o])
  if cur == false then cur = '' end
  if cur ~= ARGV[o + 1] then return redis.error_reply('CONFLICT ' .. ARGV[o]) end
  local mn = ARGV[o + 4]
  if mn ~= '' then
    local owner = redis.call('HGET', KEYS[2], mn)
    if owner and owner ~= ARGV[o] then return redis.error_reply('MNTAKEN ' .. mn .. ' ' .. owner) end
  end
end
for i = 0, n - 1 do
  local o = base + i * 7
  redis.call('HSET', KEYS[1], ARGV[o], ARGV[o + 2])
  if ARGV[o + 3] ~= '' and ARGV[o + 3] ~= ARGV[o + 4] then redis.call('HDEL', KEYS[2], ARGV[o + 3]) end
  if ARGV[o + 4] ~= '' then redis.call('HSET', KEYS[2], ARGV[o + 4], ARGV[o]) end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
    'action', ARGV[5], 'id', ARGV[o], 'by', ARGV[3], 'at', ARGV[4],
    'before', ARGV[o + 5], 'after', ARGV[o + 6])
end
local v = redis.call('INCR', KEYS[4])
redis.call('PUBLISH', ARGV[1], v .. ' ' .. ARGV[6])
return v
`;

/** Approximate cap of the audit stream (XADD MAXLEN ~). */
const AUDIT_MAX_LEN = 100_000;

/** The registry's keys under its prefix. */
export type RegistryKeys = ReturnType<typeof registryKeys>;

export function registryKeys(prefix: string) {
  return {
    devices: `${prefix}devices`,
    mn: `${prefix}devices:mn`,
    version: `${prefix}devices:version`,
    audit: `${prefix}devices:audit`,
    channel: `${prefix}devices:changes`,
  };
}

export interface PendingChange {
  id: string;
  /** The exact JSON read from Redis ('' when absent): the compare-and-set token. */
  expected: string;
  before: DeviceRecord | null;
  after: DeviceRecord;
}

/** Compare-and-set retries before a write gives up; each waits a little longer, with jitter. */
const MAX_RETRIES = 10;

/**
 * Runs `write` (read the devices, then commit) again while it loses a race: another writer changed
 * a device between its read and the commit, so it reads again.
 */
export async function retryOnConflict<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const conflict = err instanceof Error && err.message.includes('CONFLICT');
      if (!conflict || attempt >= MAX_RETRIES) throw err;
      await new Promise((r) => setTimeout(r, (attempt + 1) * (5 + Math.random() * 20)));
    }
  }
}

/**
 * Commit `pending` atomically: devices, MN index, audit stream, version and the change message.
 * Throws a CONFLICT error (see retryOnConflict) when a device is no longer what it was read as.
 */
export async function commitChanges(
  redis: Redis,
  keys: RegistryKeys,
  c: { action: ChangeAction; pending: readonly PendingChange[]; by: string; at: string },
): Promise<void> {
  const ids = JSON.stringify(c.pending.map((p) => p.id));
  const args = [keys.channel, AUDIT_MAX_LEN, c.by, c.at, c.action, ids, c.pending.length];
  for (const p of c.pending) {
    args.push(
      p.id,
      p.expected,
      JSON.stringify(p.after),
      p.before?.hj212?.mn ?? '',
      p.after.hj212?.mn ?? '',
      auditJson(p.before),
      auditJson(p.after),
    );
  }
  try {
    await redis.eval(COMMIT_SCRIPT, 4, keys.devices, keys.mn, keys.audit, keys.version, ...args);
  } catch (err) {
    const taken = /MNTAKEN (\S+) (\S+)/.exec(err instanceof Error ? err.message : String(err));
    if (!taken) throw err;
    throw new GridgateError(
      'GG_ERR_BAD_REQUEST',
      `HJ 212 MN '${taken[1]}' already belongs to device '${taken[2]}'`,
    );
  }
}
