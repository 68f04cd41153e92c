import type { Logger } from 'pino';
import type { DeviceModel } from '../../processors/devices/define.js';
import { MODELS } from '../../processors/devices/index.js';
import { buildModelSet, type ModelSetResult } from '../../processors/devices/model-set.js';
import { formatModelError, type ModelFileError } from '../../processors/devices/yaml.js';
import { GridgateError } from '../../processors/errors.js';
import { FolderReloader } from '../fs/folder-reloader.js';
import { readYamlFolder } from '../fs/yaml-folder.js';

/** The shipped models plus the folder's: the set, or every error of every file. No folder: the shipped set. */
export async function loadModelsDir(
  dir: string | undefined,
  shipped: readonly DeviceModel[] = MODELS,
): Promise<ModelSetResult> {
  if (dir === undefined) return buildModelSet([], shipped);
  let files: { path: string; text: string }[];
  try {
    files = await readYamlFolder(dir);
  } catch (err) {
    throw new GridgateError('GG_ERR_CONFIG_READ', `models folder ${dir} could not be read`, [
      (err as Error).message,
      'create the folder or fix models.dir',
    ]);
  }
  return buildModelSet(files, shipped);
}

/** Like loadModelsDir, but throws GG_ERR_MODEL_INVALID listing every error (gateway start). */
export async function loadModelsDirOrThrow(dir: string | undefined): Promise<ModelSetResult> {
  const r = await loadModelsDir(dir);
  if (r.errors.length) {
    throw new GridgateError(
      'GG_ERR_MODEL_INVALID',
      `${r.errors.length} error(s) in models folder ${dir}; fix them (gridgate models validate ${dir})`,
      r.errors.map(formatModelError),
    );
  }
  return r;
}

/**
 * Hot reload of the models folder (adapters/fs/folder-reloader.ts): on any change the whole folder
 * is loaded and checked against the shipped models; only a clean set is handed to `apply` (the
 * gateway swaps its model index and topic router). A broken file keeps the previous set running;
 * why is kept in `lastReloadError` for GET /api/v1/models.
 */
export function watchModels(
  dir: string,
  /** Puts a valid set in place; a throw counts as a failed reload. */
  apply: (result: ModelSetResult) => void,
  opts: { logger?: Logger; debounceMs?: number } = {},
): FolderReloader<ModelSetResult, ModelFileError> {
  return new FolderReloader({
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
