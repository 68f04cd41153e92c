/**
 * Alert snapshots on disk: one JPEG per file in cameras.snapshots.dir, with retention by age
 * (maxAgeH) and total size (maxMB), the oldest going first. Retention runs after every write and on
 * a timer; the folder is scanned at start, so what an earlier run stored is counted and aged too.
 *
 * File names are `<camera>-<UTC time>-<128 random bits>.jpg`: knowing a camera and the time of an
 * alert is not enough to fetch its picture (the URL is only in the alert event), and a name is
 * checked against that exact shape before any file is touched, so no request can name a path.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';

export interface SnapshotStoreOptions {
  /** cameras.snapshots.dir; created with mode 0700. */
  dir: string;
  /** cameras.snapshots.maxAgeH: files older than this are deleted. */
  maxAgeH: number;
  /** cameras.snapshots.maxMB (MiB): the oldest files are deleted while the total is above it. */
  maxMB: number;
  /** How often retention runs besides after each write (default 60 s). */
  sweepIntervalMs?: number;
  /** Epoch ms; injectable so retention by age can be tested on a fake clock. */
  now?: () => number;
  logger: Logger;
}

export interface StoredSnapshot {
  file: string;
  url: string;
  bytes: number;
}

interface Entry {
  file: string;
  bytes: number;
  /** When it was stored, epoch ms (also the file's mtime, so a restart ages it the same). */
  savedAt: number;
}

/** Where the HTTP API serves a file (routes/snapshots.ts); alert evidence gets this plus the name. */
const URL_PREFIX = '/api/v1/snapshots/';
const MIB = 1024 * 1024;
/** First instant whose ISO form has a 5-digit year. */
const MAX_ISO_MS = Date.UTC(10000, 0, 1);
/** The one shape a snapshot file name has; anything else is refused before touching the disk. */
const NAME = /^[A-Za-z0-9_-]{1,64}-\d{8}T\d{9}Z-[0-9a-f]{32}\.jpg$/;
const TEMP = /^\.[A-Za-z0-9_-]{1,64}-\d{8}T\d{9}Z-[0-9a-f]{32}\.jpg\.tmp$/;

/** True when `file` has the shape of a snapshot name (no directory part, no `..`). */
export function isSnapshotName(file: string): boolean {
  return NAME.test(file);
}

export class SnapshotStore {
  private readonly log: Logger;
  private readonly now: () => number;
  /** By file name, oldest first: writes append (the clock only moves forward); a scan sorts. */
  private files = new Map<string, Entry>();
  private totalBytes = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: SnapshotStoreOptions) {
    this.log = opts.logger.child({ component: 'snapshots' });
    this.now = opts.now ?? Date.now;
  }

  /** Creates the folder (0700), counts what an earlier run left, applies retention, starts the timer. */
  async start(): Promise<void> {
    const { dir } = this.opts;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await stat(dir);
    if ((st.mode & 0o077) !== 0) {
      // Alert pictures show people and places: only the gateway's own user may list them.
      await chmod(dir, 0o700);
      this.log.warn({ dir }, 'snapshot folder was readable by others; set to mode 0700');
    }
    const found: Entry[] = [];
    for (const file of await readdir(dir)) {
      if (TEMP.test(file)) {
        // A write cut short by a crash: never referenced by an event.
        await unlink(join(dir, file)).catch(() => undefined);
        continue;
      }
      if (!NAME.test(file)) continue;
      const s = await stat(join(dir, file)).catch(() => undefined);
      if (s?.isFile()) found.push({ file, bytes: s.size, savedAt: s.mtimeMs });
    }
    found.sort((a, b) => a.savedAt - b.savedAt || (a.file < b.file ? -1 : 1));
    this.files = new Map(found.map((e) => [e.file, e]));
    this.totalBytes = found.reduce((n, e) => n + e.bytes, 0);
    const removed = await this.sweep();
    this.log.info({ dir, files: this.files.size, bytes: this.totalBytes, removed }, 'snapshot store ready');
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.log.warn({ err }, 'snapshot retention failed'));
    }, this.opts.sweepIntervalMs ?? 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  /**
   * Store one JPEG (file mode 0600), written to a temporary name and renamed so a reader never sees
   * half a picture. `at` (capture time) names the file; retention ages it from now.
   */
  async save(cameraId: string, jpeg: Buffer, at: number): Promise<StoredSnapshot> {
    const savedAt = this.now();
    // A source's clock is not trusted to name files: outside 1970..9999 the store time is used.
    const named = Number.isFinite(at) && at >= 0 && at < MAX_ISO_MS ? at : savedAt;
    const file = `${safeCamera(cameraId)}-${compactUtc(named)}-${randomBytes(16).toString('hex')}.jpg`;
    const path = join(this.opts.dir, file);
    const temp = join(this.opts.dir, `.${file}.tmp`);
    try {
      await writeFile(temp, jpeg, { mode: 0o600, flag: 'wx' });
      await utimes(temp, savedAt / 1000, savedAt / 1000);
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    this.files.set(file, { file, bytes: jpeg.length, savedAt });
    this.totalBytes += jpeg.length;
    await this.sweep(file);
    return { file, url: `${URL_PREFIX}${file}`, bytes: jpeg.length };
  }

  /**
   * The JPEG stored under `file`. GG_ERR_BAD_REQUEST for a name that is not a snapshot name,
   * GG_ERR_NOT_FOUND for one that is not (or no longer) stored.
   */
  async read(file: string): Promise<Buffer> {
    if (!NAME.test(file)) {
      throw new GridgateError('GG_ERR_BAD_REQUEST', 'not a snapshot file name', [
        'use the url of an alert event evidence entry as it is',
      ]);
    }
    const gone = new GridgateError('GG_ERR_NOT_FOUND', `snapshot ${file} is not stored`, [
      'snapshots are kept for cameras.snapshots.maxAgeH hours and up to cameras.snapshots.maxMB in total',
    ]);
    const entry = this.files.get(file);
    if (!entry) throw gone;
    try {
      return await readFile(join(this.opts.dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.forget(entry);
      throw gone;
    }
  }

  /** Files and bytes held now. */
  stats(): { files: number; bytes: number } {
    return { files: this.files.size, bytes: this.totalBytes };
  }

  /**
   * Deletes what is older than maxAgeH, then the oldest while the total exceeds maxMB. `keep` (the
   * file just written) is never deleted by the size rule: its URL is about to go out in an event.
   * Resolves with the number of files deleted.
   */
  async sweep(keep?: string): Promise<number> {
    const maxAgeMs = this.opts.maxAgeH * 3600_000;
    const maxBytes = this.opts.maxMB * MIB;
    const cutoff = this.now() - maxAgeMs;
    const doomed: Entry[] = [];
    for (const e of this.files.values()) {
      if (e.file === keep || (e.savedAt >= cutoff && this.totalBytes <= maxBytes)) continue;
      this.forget(e);
      doomed.push(e);
    }
    if (doomed.length === 0) return 0;
    await Promise.all(
      doomed.map((e) =>
        unlink(join(this.opts.dir, e.file)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') this.log.warn({ err, file: e.file }, 'could not delete old snapshot');
        }),
      ),
    );
    this.log.debug({ removed: doomed.length, ...this.stats() }, 'snapshot retention');
    return doomed.length;
  }

  private forget(e: Entry): void {
    if (this.files.delete(e.file)) this.totalBytes -= e.bytes;
  }
}

/** Camera ids are registry ids; anything outside the name alphabet becomes `_`, so the name stays one path segment. */
function safeCamera(id: string): string {
  const s = id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return s === '' ? '_' : s;
}

/** `YYYYMMDDTHHMMSSmmmZ`: sortable, and no `:` (not allowed in Windows file names). */
function compactUtc(at: number): string {
  return new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z');
}
