import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from 'pino';
import type { ModelSetResult } from '../../processors/devices/model-set.js';
import { formatModelError, type ModelFileError } from '../../processors/devices/yaml.js';
import { loadModelsDir } from './load-dir.js';

export interface ModelsReloadResult {
  ok: boolean;
  models: number;
  errors: ModelFileError[];
}

/**
 * Hot reload of the models folder, as adapters/rules/watcher.ts does for rules: on any change
 * (debounced) the whole folder is loaded and checked against the shipped models; only a clean set
 * is handed to `apply` (the gateway swaps its model index and topic router). A broken file keeps
 * the previous set running; why is logged once per distinct set of problems and kept in
 * `lastReloadError` for GET /api/v1/models.
 */
export class ModelsWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ModelsReloadResult> | undefined;
  lastReloadError: ModelFileError[] | undefined;
  lastReloadAt: number | undefined;
  private logged: string | undefined;

  constructor(
    private readonly dir: string,
    /** Put a valid set in place; a throw counts as a failed reload. */
    private readonly apply: (result: ModelSetResult) => void,
    private readonly opts: { logger?: Logger; debounceMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    this.watcher = watch(this.dir, {
      ignoreInitial: true,
      depth: 0,
      awaitWriteFinish: { stabilityThreshold: 100 },
    });
    this.watcher.on('all', (_event, path) => {
      if (!/\.ya?ml$/.test(path)) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 200);
    });
    this.watcher.on('error', (err) =>
      this.opts.logger?.error({ err, dir: this.dir }, 'models watcher error'),
    );
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher?.close();
    this.watcher = undefined;
    await this.running;
  }

  /** Load the folder and apply it if valid. Concurrent calls share one load. */
  reload(): Promise<ModelsReloadResult> {
    this.running ??= this.doReload().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doReload(): Promise<ModelsReloadResult> {
    this.lastReloadAt = Date.now();
    try {
      const result = await loadModelsDir(this.dir);
      if (result.errors.length) {
        this.failed(result.errors);
        return { ok: false, models: 0, errors: result.errors };
      }
      this.apply(result);
      this.lastReloadError = undefined;
      this.logged = undefined;
      this.opts.logger?.info(
        { dir: this.dir, models: result.set.models.length, overrides: result.overrides.map((o) => o.id) },
        'device models reloaded',
      );
      return { ok: true, models: result.set.models.length, errors: [] };
    } catch (err) {
      const e: ModelFileError = {
        file: this.dir,
        line: 0,
        col: 0,
        path: '',
        message: err instanceof Error ? err.message : String(err),
      };
      this.failed([e]);
      return { ok: false, models: 0, errors: [e] };
    }
  }

  private failed(errors: ModelFileError[]): void {
    this.lastReloadError = errors;
    const lines = errors.map(formatModelError);
    const key = lines.join('\n');
    const msg = 'device models not reloaded: the previous set keeps running';
    if (key === this.logged) {
      this.opts.logger?.debug({ dir: this.dir }, `${msg} (same problems as logged before)`);
      return;
    }
    this.logged = key;
    this.opts.logger?.error({ dir: this.dir, errors: lines }, msg);
  }
}
