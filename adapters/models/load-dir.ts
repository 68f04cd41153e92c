import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceModel } from '../../processors/devices/define.js';
import { MODELS } from '../../processors/devices/index.js';
import { buildModelSet, type ModelSetResult } from '../../processors/devices/model-set.js';
import { formatModelError } from '../../processors/devices/yaml.js';
import { GridgateError } from '../../processors/errors.js';

/** Every `*.yaml` / `*.yml` in `dir` (not recursive, no dot-files), sorted so load order is stable. */
export async function readModelFiles(dir: string): Promise<{ path: string; text: string }[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
  } catch (err) {
    throw new GridgateError('GG_ERR_CONFIG_READ', `models folder ${dir} could not be read`, [
      (err as Error).message,
      'create the folder or fix models.dir',
    ]);
  }
  return Promise.all(
    names.map(async (n) => ({ path: join(dir, n), text: await readFile(join(dir, n), 'utf8') })),
  );
}

/** The shipped models plus the folder's: the set, or every error of every file. No folder: the shipped set. */
export async function loadModelsDir(
  dir: string | undefined,
  shipped: readonly DeviceModel[] = MODELS,
): Promise<ModelSetResult> {
  return buildModelSet(dir === undefined ? [] : await readModelFiles(dir), shipped);
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
