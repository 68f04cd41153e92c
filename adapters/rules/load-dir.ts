import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import type { RuleEngine } from '../../processors/rules/engine.js';
import {
  formatRuleError,
  parseRuleFiles,
  type RuleFileError,
  type RuleSet,
} from '../../processors/rules/parse.js';
import { FolderReloader } from '../fs/folder-reloader.js';
import { readYamlFolder } from '../fs/yaml-folder.js';

/** Load and compile a rules folder: the set, or every error of every file. */
export async function loadRulesDir(dir: string): Promise<{ set: RuleSet; errors: RuleFileError[] }> {
  return parseRuleFiles(await readYamlFolder(dir, 'rules', 'rules.dir'));
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

/**
 * Hot reload of a rules folder (adapters/fs/folder-reloader.ts): on any change or `reload()`
 * (POST /api/v1/rules/reload) the whole folder is loaded and compiled; only a clean set replaces
 * the engine's rules, a broken file keeps the previous set running.
 */
export function watchRules(
  dir: string,
  engine: Pick<RuleEngine, 'replaceRules'>,
  opts: { logger?: Logger; debounceMs?: number } = {},
): FolderReloader<RuleSet, RuleFileError> {
  return new FolderReloader({
    dir,
    what: 'rules',
    load: async (d) => {
      const { set, errors } = await loadRulesDir(d);
      return { value: set, errors };
    },
    apply: (set) => engine.replaceRules(set),
    describe: (set) => ({ rules: set.rules.length }),
    format: formatRuleError,
    ...opts,
  });
}
