import { MODELS } from '../../processors/devices/index.js';
import { buildModelSet, type ModelSetResult } from '../../processors/devices/model-set.js';
import { readYamlFolder } from '../fs/yaml-folder.js';

/** The shipped models plus the folder's: the set, or every error of every file. No folder: the shipped set. */
export async function loadModelsDir(dir: string | undefined): Promise<ModelSetResult> {
  const files = dir === undefined ? [] : await readYamlFolder(dir, 'models', 'models.dir');
  return buildModelSet(files, MODELS);
}
