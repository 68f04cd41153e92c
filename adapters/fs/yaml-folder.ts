import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GridgateError } from '../../processors/errors.js';

/**
 * Every `*.yaml` / `*.yml` in `dir` (not recursive, no dot-files, so an editor's swap file is not
 * read), sorted so that load order, and so which file wins a duplicate, is stable. Throws
 * GG_ERR_CONFIG_READ naming the folder (what it holds, and the setting that names it).
 */
export async function readYamlFolder(
  dir: string,
  what: string,
  setting: string,
): Promise<{ path: string; text: string }[]> {
  try {
    const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
    return await Promise.all(
      names.map(async (n) => ({ path: join(dir, n), text: await readFile(join(dir, n), 'utf8') })),
    );
  } catch (err) {
    throw new GridgateError(
      'GG_ERR_CONFIG_READ',
      `${what} folder ${dir} could not be read`,
      [(err as Error).message, `create the folder or fix ${setting}`],
      { cause: err },
    );
  }
}
