import type { Logger } from 'pino';
import type { RuleEngine } from '../../processors/rules/engine.js';
import { formatRuleError, type RuleFileError } from '../../processors/rules/parse.js';
import { FolderReloader } from '../fs/folder-reloader.js';
import { loadRulesDir } from './load-dir.js';

export interface ReloadResult {
  ok: boolean;
  rules: number;
  errors: RuleFileError[];
}

type RuleSet = Awaited<ReturnType<typeof loadRulesDir>>['set'];

/**
 * Hot reload of a rules folder (adapters/fs/folder-reloader.ts): on any change or `reload()`
 * (POST /api/v1/rules/reload) the whole folder is loaded and compiled; only a clean set replaces
 * the engine's rules, a broken file keeps the previous set running.
 */
export class RulesWatcher {
  private readonly folder: FolderReloader<RuleSet, RuleFileError>;

  constructor(
    dir: string,
    engine: Pick<RuleEngine, 'replaceRules'>,
    opts: { logger?: Logger; debounceMs?: number } = {},
  ) {
    this.folder = new FolderReloader({
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

  get lastReloadError(): RuleFileError[] | undefined {
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

  /** Load the folder and swap the rules if it is valid. Concurrent calls share one load. */
  async reload(): Promise<ReloadResult> {
    const r = await this.folder.reload();
    return r.ok
      ? { ok: true, rules: r.value.rules.length, errors: [] }
      : { ok: false, rules: 0, errors: r.errors };
  }
}
