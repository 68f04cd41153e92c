import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GridgateError } from '../../processors/errors.js';
import {
  formatRuleError,
  parseRuleFiles,
  type RuleFileError,
  type RuleSet,
} from '../../processors/rules/parse.js';

/** Every `*.yaml` / `*.yml` in `dir` (not recursive), sorted so load order is stable. */
export async function readRuleFiles(dir: string): Promise<{ path: string; text: string }[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
  return Promise.all(
    names.map(async (n) => ({ path: join(dir, n), text: await readFile(join(dir, n), 'utf8') })),
  );
}

/** Load and compile a rules folder: the set, or every error of every file. */
export async function loadRulesDir(dir: string): Promise<{ set: RuleSet; errors: RuleFileError[] }> {
  let files: { path: string; text: string }[];
  try {
    files = await readRuleFiles(dir);
  } catch (err) {
    throw new GridgateError('GG_ERR_CONFIG_READ', `rules folder ${dir} could not be read`, [], {
      cause: err,
    });
  }
  return parseRuleFiles(files);
}

/** Like loadRulesDir, but throws GG_ERR_RULES_INVALID listing every error. */
export async function loadRulesDirOrThrow(dir: string): Promise<RuleSet> {
  const { set, errors } = await loadRulesDir(dir);
  if (errors.length) {
    throw new GridgateError(
      'GG_ERR_RULES_INVALID',
      `${errors.length} error(s) in rules folder ${dir}; fix them and reload`,
      errors.map(formatRuleError),
    );
  }
  return set;
}
