import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from 'pino';

/** A problem in one file of a watched folder, with where it is. */
export interface FolderFileError {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export interface FolderReloaderOptions<S, E extends FolderFileError> {
  dir: string;
  /** What the folder holds, for log lines ('rules', 'device models'). */
  what: string;
  /** Loads and checks the whole folder. */
  load(dir: string): Promise<{ value: S; errors: E[] }>;
  /** Puts a clean set in place; a throw counts as a failed reload. */
  apply(value: S): void;
  /** Fields of the "reloaded" log line. */
  describe(value: S): Record<string, unknown>;
  format(error: E): string;
  logger?: Logger;
  debounceMs?: number;
}

export type FolderReload<S, E> = { ok: true; value: S; errors: [] } | { ok: false; errors: E[] };

/**
 * Hot reload of a folder of YAML files (rules, device models): on any change (debounced) or
 * `reload()` the whole folder is loaded and checked; only a clean set is applied. A broken file
 * keeps the previous set running, and why is kept in `lastReloadError`.
 *
 * A problem is logged once: saving the same broken file again (an editor's second write, a second
 * save) reloads and fails the same way, and says so at debug level only. A different problem, or
 * the fix, is logged.
 */
export class FolderReloader<S, E extends FolderFileError> {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<FolderReload<S, E>> | undefined;
  lastReloadError: E[] | undefined;
  lastReloadAt: number | undefined;
  /** The problems last logged, to log each distinct set once. */
  private logged: string | undefined;

  constructor(private readonly opts: FolderReloaderOptions<S, E>) {}

  async start(): Promise<void> {
    const { dir, what, logger } = this.opts;
    this.watcher = watch(dir, {
      ignoreInitial: true,
      depth: 0,
      awaitWriteFinish: { stabilityThreshold: 100 },
    });
    this.watcher.on('all', (_event, path) => {
      if (!/\.ya?ml$/.test(path)) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 200);
    });
    this.watcher.on('error', (err) => logger?.error({ err, dir }, `${what} watcher error`));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher?.close();
    this.watcher = undefined;
    await this.running;
  }

  /** Load the folder and apply it if valid. Concurrent calls share one load. */
  reload(): Promise<FolderReload<S, E>> {
    this.running ??= this.doReload().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doReload(): Promise<FolderReload<S, E>> {
    const { dir, what } = this.opts;
    this.lastReloadAt = Date.now();
    try {
      const { value, errors } = await this.opts.load(dir);
      if (errors.length) {
        this.failed(errors);
        return { ok: false, errors };
      }
      this.opts.apply(value);
      this.lastReloadError = undefined;
      this.logged = undefined;
      this.opts.logger?.info({ dir, ...this.opts.describe(value) }, `${what} reloaded`);
      return { ok: true, value, errors: [] };
    } catch (err) {
      // The folder itself could not be read: one error, naming the folder.
      const message = err instanceof Error ? err.message : String(err);
      const errors = [{ file: dir, line: 0, col: 0, path: '', message } as E];
      this.failed(errors, err);
      return { ok: false, errors };
    }
  }

  private failed(errors: E[], err?: unknown): void {
    this.lastReloadError = errors;
    const lines = errors.map((e) => this.opts.format(e));
    const key = lines.join('\n');
    const msg = `${this.opts.what} not reloaded: the previous set keeps running`;
    if (key === this.logged) {
      this.opts.logger?.debug({ dir: this.opts.dir }, `${msg} (same problems as logged before)`);
      return;
    }
    this.logged = key;
    this.opts.logger?.error({ dir: this.opts.dir, errors: lines, ...(err ? { err } : {}) }, msg);
  }
}
