import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every `*.yaml` / `*.yml` in `dir` (not recursive, no dot-files, so an editor's swap file is not
 * read), sorted so that load order, and so which file wins a duplicate, is stable.
 */
export async function readYamlFolder(dir: string): Promise<{ path: string; text: string }[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
  return Promise.all(
    names.map(async (n) => ({ path: join(dir, n), text: await readFile(join(dir, n), 'utf8') })),
  );
}
