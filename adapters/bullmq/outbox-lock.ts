/**
 * The alert outbox's claim on its folder: a lock file with the owner's pid keeps two gateways out
 * of one folder (a stale one, left by a process that is gone, is taken over), and a set of folders
 * open in this process keeps two outboxes of one process apart.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GridgateError } from '../../processors/errors.js';

export const OUTBOX_FILE_MODE = 0o600;
/** Folders open in this process: a second outbox on one folder would hand out the same events twice. */
const OPEN_DIRS = new Set<string>();

/** Take the folder `dir` (already created) for this process; throws GG_ERR_CONFLICT when it is in use. */
export function lockOutboxDir(dir: string): void {
  const path = join(dir, 'lock');
  const inUse = (pid: number) =>
    new GridgateError('GG_ERR_CONFLICT', `alert outbox ${dir} is in use by process ${pid}`, [
      'two gateways may not share one dispatch.outbox.dir; give each its own folder',
    ]);
  if (OPEN_DIRS.has(dir)) throw inUse(process.pid);
  try {
    const fd = openSync(path, 'wx', OUTBOX_FILE_MODE);
    writeSync(fd, String(process.pid));
    closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    // A lock left by a process that is gone (killed, crashed) is taken over.
    if (pid > 0 && pid !== process.pid && alive(pid)) throw inUse(pid);
    writeFileSync(path, String(process.pid), { mode: OUTBOX_FILE_MODE });
  }
  OPEN_DIRS.add(dir);
}

/** Give the folder up: remove the lock file and forget it in this process. */
export function unlockOutboxDir(dir: string): void {
  try {
    unlinkSync(join(dir, 'lock'));
  } catch {}
  OPEN_DIRS.delete(dir);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
