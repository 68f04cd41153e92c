/**
 * Writes to the Redis registry: one Lua call (commit-script.ts) per change set, compare-and-set on
 * the exact JSON each device was read as, and the retry policy for a lost race.
 */
import type { Redis } from 'ioredis';
import { GridgateError } from '../../processors/errors.js';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import { auditJson } from '../../processors/registry/records.js';
import type { ChangeAction } from '../../processors/registry/types.js';
import { COMMIT_SCRIPT } from './commit-script.js';

/** The registry's keys under its prefix. */
export interface RegistryKeys {
  devices: string;
  mn: string;
  version: string;
  audit: string;
  channel: string;
}

export function registryKeys(prefix: string): RegistryKeys {
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
export const MAX_RETRIES = 10;

export function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, (attempt + 1) * (5 + Math.random() * 20)));
}

/** Another writer changed a device between its read and the commit: read again and retry. */
export function isConflict(err: unknown): boolean {
  return err instanceof Error && err.message.includes('CONFLICT');
}

/**
 * Commit `pending` atomically: devices, MN index, audit stream, version and the change message.
 * Throws a CONFLICT error (see isConflict) when a device is no longer what it was read as.
 */
export async function commitChanges(
  redis: Redis,
  keys: RegistryKeys,
  auditMaxLen: number,
  c: { action: ChangeAction; pending: readonly PendingChange[]; by: string; at: string },
): Promise<void> {
  const { action, pending, by } = c;
  const args: (string | number)[] = [
    keys.channel,
    auditMaxLen,
    by,
    c.at,
    action,
    JSON.stringify(pending.map((p) => p.id)),
    pending.length,
  ];
  for (const p of pending) {
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
    const msg = err instanceof Error ? err.message : String(err);
    const taken = /MNTAKEN (\S+) (\S+)/.exec(msg);
    if (taken) {
      throw new GridgateError(
        'GG_ERR_BAD_REQUEST',
        `HJ 212 MN '${taken[1]}' already belongs to device '${taken[2]}'`,
      );
    }
    throw err;
  }
}
