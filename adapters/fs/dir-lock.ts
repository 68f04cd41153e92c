/**
 * A process's claim on a data folder (the tsdb spool, the alert outbox): a `lock` file naming the
 * owner keeps a second gateway out, since two writers appending to and replaying the same files
 * would send everything twice and interleave their records. A lock whose owner is gone (killed,
 * crashed, or from before the machine restarted) is taken over. Folders held in this process are
 * also kept in a set, so two owners in one process are refused too.
 *
 * The lock file holds the owner's pid on its first line (what the older pid-only lock file held, so
 * either reads the other), then the kernel's boot id and the owner's start time: after a reboot, or
 * once a pid is reused by another program, the lock is known to be stale instead of blocking the
 * start. Both come from /proc (Linux); without it only the pid is checked.
 *
 * What it cannot see: an owner in another pid namespace (a container) or on another machine sharing
 * the folder, and a second worker thread of this process (threads share the pid; a lock with this
 * process's pid is taken to be one a thread that ended left behind). Give each gateway its own folder.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';

export const LOCK_FILE = 'lock';
const LOCK_FILE_MODE = 0o600;
/** Tries before giving up when other processes keep taking and freeing the lock meanwhile. */
const ATTEMPTS = 5;
/** Folders (real paths) held in this process. */
const HELD = new Set<string>();

export interface DirLockOptions {
  /** What holds the folder, for messages: 'tsdb spool', 'alert outbox'. */
  what: string;
  /** The setting that names the folder, for the advice in the error: 'tsdb.spool.dir'. */
  setting: string;
  /** Told (warn) when a stale lock is taken over. */
  logger?: Logger;
}

export interface DirLock {
  /** Removes the lock file if it is still this owner's, and frees the folder in this process. */
  release(): void;
}

/** Who a lock file names. */
interface Holder {
  pid: number;
  boot: string | undefined;
  started: string | undefined;
}

/**
 * Takes the folder `dir` (already created) for this process. Throws GG_ERR_CONFLICT, naming the
 * folder and the owner's pid, while another live process (or another owner in this one) holds it.
 */
export function lockDir(dir: string, opts: DirLockOptions): DirLock {
  const key = realpathSync(dir);
  const file = join(dir, LOCK_FILE);
  const inUse = (pid: number) =>
    new GridgateError('GG_ERR_CONFLICT', `${opts.what} ${dir} is in use by process ${pid}`, [
      `two gateways may not share one ${opts.setting}; give each its own folder, or stop process ${pid}`,
      `the lock file is ${file}; it is removed at a clean stop and taken over when process ${pid} is gone`,
    ]);
  if (HELD.has(key)) throw inUse(process.pid);
  const mine = ownLock();
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (create(file, mine)) {
      HELD.add(key);
      return handle(key, file, mine);
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // freed meanwhile
      throw err;
    }
    const holder = parse(text);
    const stale = staleReason(holder);
    if (stale === undefined) throw inUse(holder.pid);
    if (!moveAside(file, text)) continue; // another process took it over first: look again
    opts.logger?.warn(
      { dir, lockFile: file, pid: Number.isSafeInteger(holder.pid) ? holder.pid : undefined, reason: stale },
      `${opts.what} folder was locked by a process that is gone; lock taken over`,
    );
  }
  throw new GridgateError('GG_ERR_CONFLICT', `${opts.what} ${dir} could not be locked`, [
    `other processes kept taking the lock file ${file}; make sure only one gateway uses ${opts.setting}`,
  ]);
}

function handle(key: string, file: string, mine: string): DirLock {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      HELD.delete(key);
      try {
        // Only this owner's: one that took the folder over since (it judged this one gone) keeps its lock.
        if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
      } catch {}
    },
  };
}

/**
 * Creates the lock file with its whole content at once: written to a file of its own first, then
 * linked into place (link(2) fails if the name exists), so no other process ever reads a half-written
 * lock and takes it for a stale one.
 */
function create(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', LOCK_FILE_MODE);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Moves a stale lock file out of the way, if it is still the one judged stale. rename(2) is atomic,
 * so of two processes taking over one stale lock at once only one moves it; if what was moved turns
 * out to be another's fresh lock (it took over between our read and our rename), it is put back.
 */
function moveAside(file: string, judged: string): boolean {
  const aside = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  let moved: string | undefined;
  try {
    moved = readFileSync(aside, 'utf8');
    if (moved !== judged) linkSync(aside, file);
  } catch {
    // EEXIST: yet another process locked the folder meanwhile; it keeps it.
  } finally {
    unlinkSync(aside);
  }
  return moved === judged;
}

/** Why the holder is gone, or undefined while it lives. */
function staleReason(h: Holder): string | undefined {
  if (!Number.isSafeInteger(h.pid) || h.pid <= 0) return 'the lock file names no process';
  if (h.boot !== undefined && BOOT_ID !== undefined && h.boot !== BOOT_ID)
    return 'left before the machine restarted';
  if (!alive(h.pid)) return `process ${h.pid} is gone`;
  const started = startTime(h.pid);
  if (h.started !== undefined && started !== undefined && h.started !== started)
    return `process ${h.pid} is gone; its pid now belongs to another program`;
  if (h.pid === process.pid) return 'left by this process (a worker thread that ended)';
  return undefined;
}

/** The lock file this process writes: its pid, then the boot id and its start time where known. */
function ownLock(): string {
  const started = startTime(process.pid);
  let text = `${process.pid}\n`;
  if (BOOT_ID !== undefined) text += `boot=${BOOT_ID}\n`;
  if (started !== undefined) text += `started=${started}\n`;
  return text;
}

function parse(text: string): Holder {
  const [first = '', ...rest] = text.split('\n');
  const field = (name: string) =>
    rest.find((l) => l.startsWith(`${name}=`))?.slice(name.length + 1) || undefined;
  // A pid-only lock (what older versions wrote) reads as well: no boot id, no start time.
  return {
    pid: /^\d+$/.test(first.trim()) ? Number(first.trim()) : Number.NaN,
    boot: field('boot'),
    started: field('started'),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A file of /proc (Linux), or undefined where there is none. */
function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The kernel's id of this boot, or undefined. */
const BOOT_ID = readProc('/proc/sys/kernel/random/boot_id')?.trim() || undefined;

/** When `pid` started, in clock ticks since boot (proc(5) /proc/pid/stat field 22), or undefined. */
function startTime(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  // Field 2 (the command name, in parentheses) may hold spaces: count fields after its ')'.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19] || undefined;
}
