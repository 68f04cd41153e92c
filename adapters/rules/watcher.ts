import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from 'pino';
import type { RuleEngine } from '../../processors/rules/engine.js';
import { formatRuleError, type RuleFileError } from '../../processors/rules/parse.js';
import { loadRulesDir } from './load-dir.js';

export interface ReloadResult {
  ok: boolean;
  rules: number;
  errors: RuleFileError[];
}

/**
 * Hot reload of a rules folder: on any change (debounced) or `reload()` (POST /api/v1/rules/reload)
 * the whole folder is loaded and compiled; only a clean set replaces the engine's rules. A broken
 * file keeps the previous set running, and why is logged and kept in `lastReloadError`.
 *
 * A problem is logged once: saving the same broken file again (an editor's second write, a second
 * save) reloads and fails the same way, and says so at debug level only. A different problem, or
 * the fix, is logged.
 */
export class RulesWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReloadResult> | undefined;
  lastReloadError: RuleFileError[] | undefined;
  lastReloadAt: number | undefined;
  /** The problems last logged, to log each distinct set once. */
  private logged: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly engine: Pick<RuleEngine, 'replaceRules'>,
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
    this.watcher.on('error', (err) => this.opts.logger?.error({ err, dir: this.dir }, 'rules watcher error'));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher?.close();
    this.watcher = undefined;
    await this.running;
  }

  /** Load the folder and swap the rules if it is valid. Concurrent calls share one load. */
  reload(): Promise<ReloadResult> {
    this.running ??= this.doReload().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doReload(): Promise<ReloadResult> {
    this.lastReloadAt = Date.now();
    try {
      const { set, errors } = await loadRulesDir(this.dir);
      if (errors.length) {
        this.failed(errors, { dir: this.dir, errors: errors.map(formatRuleError) });
        return { ok: false, rules: 0, errors };
      }
      this.engine.replaceRules(set);
      this.lastReloadError = undefined;
      this.logged = undefined;
      this.opts.logger?.info({ dir: this.dir, rules: set.rules.length }, 'rules reloaded');
      return { ok: true, rules: set.rules.length, errors: [] };
    } catch (err) {
      const e: RuleFileError = {
        file: this.dir,
        line: 0,
        col: 0,
        path: '',
        message: err instanceof Error ? err.message : String(err),
      };
      this.failed([e], { err, dir: this.dir });
      return { ok: false, rules: 0, errors: [e] };
    }
  }

  private failed(errors: RuleFileError[], fields: Record<string, unknown>): void {
    this.lastReloadError = errors;
    const key = errors.map(formatRuleError).join('\n');
    const msg = 'rules not reloaded: the previous set keeps running';
    if (key === this.logged) {
      this.opts.logger?.debug({ dir: this.dir }, `${msg} (same problems as logged before)`);
      return;
    }
    this.logged = key;
    this.opts.logger?.error(fields, msg);
  }
}
