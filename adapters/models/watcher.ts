import type { Logger } from 'pino';
import type { ModelSetResult } from '../../processors/devices/model-set.js';
import { formatModelError, type ModelFileError } from '../../processors/devices/yaml.js';
import { FolderReloader } from '../fs/folder-reloader.js';
import { loadModelsDir } from './load-dir.js';

export interface ModelsReloadResult {
  ok: boolean;
  models: number;
  errors: ModelFileError[];
}

/**
 * Hot reload of the models folder (adapters/fs/folder-reloader.ts): on any change the whole folder
 * is loaded and checked against the shipped models; only a clean set is handed to `apply` (the
 * gateway swaps its model index and topic router). A broken file keeps the previous set running;
 * why is kept in `lastReloadError` for GET /api/v1/models.
 */
export class ModelsWatcher {
  private readonly folder: FolderReloader<ModelSetResult, ModelFileError>;

  constructor(
    dir: string,
    /** Put a valid set in place; a throw counts as a failed reload. */
    apply: (result: ModelSetResult) => void,
    opts: { logger?: Logger; debounceMs?: number } = {},
  ) {
    this.folder = new FolderReloader({
      dir,
      what: 'device models',
      load: async (d) => {
        const result = await loadModelsDir(d);
        return { value: result, errors: result.errors };
      },
      apply,
      describe: (r) => ({ models: r.set.models.length, overrides: r.overrides.map((o) => o.id) }),
      format: formatModelError,
      ...opts,
    });
  }

  get lastReloadError(): ModelFileError[] | undefined {
    return this.folder.lastReloadError;
  }

  get lastReloadAt(): number | undefined {
    return this.folder.lastReloadAt;
  }

  start(): Promise<void> {
    return this.folder.start();
  }

  stop(): Promise<void> {
    return this.folder.stop();
  }

  /** Load the folder and apply it if valid. Concurrent calls share one load. */
  async reload(): Promise<ModelsReloadResult> {
    const r = await this.folder.reload();
    return r.ok
      ? { ok: true, models: r.value.set.models.length, errors: [] }
      : { ok: false, models: 0, errors: r.errors };
  }
}
