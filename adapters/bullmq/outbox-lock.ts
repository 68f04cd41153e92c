/**
 * The alert outbox's claim on its folder: the shared folder lock (adapters/fs/dir-lock.ts) keeps
 * two gateways, or two outboxes of one process, out of one folder; a lock left by a process that
 * is gone is taken over.
 */
import type { Logger } from 'pino';
import { type DirLock, lockDir } from '../fs/dir-lock.js';

export const OUTBOX_FILE_MODE = 0o600;
/** Locks this process holds, by the folder as the outbox names it. */
const HELD = new Map<string, DirLock>();

/**
 * Take the folder `dir` (already created) for this process; throws GG_ERR_CONFLICT when it is in use.
 * `logger` is told when a stale lock is taken over.
 */
export function lockOutboxDir(dir: string, logger?: Logger): void {
  HELD.set(dir, lockDir(dir, { what: 'alert outbox', setting: 'dispatch.outbox.dir', logger }));
}

/** Give the folder up: remove the lock file and forget it in this process. */
export function unlockOutboxDir(dir: string): void {
  HELD.get(dir)?.release();
  HELD.delete(dir);
}
