import type { Logger } from 'pino';
import { loadModelsDirOrThrow } from '../adapters/models/load-dir.js';
import { ModelsWatcher } from '../adapters/models/watcher.js';
import type { ModelIndex } from '../processors/devices/index.js';
import type { ModelSetResult } from '../processors/devices/model-set.js';
import { formatModelError } from '../processors/devices/yaml.js';
import { TopicRouter } from '../processors/topics.js';

export interface ModelFilesOptions {
  /** config models.dir; undefined: the shipped models only. */
  dir: string | undefined;
  watch: boolean;
  /** The gateway's index: the pipeline, the registry's model check and the broker ACL read it. */
  index: ModelIndex;
  /** Called with the router for each new set, in the same tick as the index swap. */
  setRouter: (router: TopicRouter) => void;
  /** The MQTT ingress remembers routes per topic (threaded broker, external broker client). */
  routesCached: boolean;
  logger: Logger;
}

/** What GET /api/v1/models says about the folder. */
export interface ModelFilesStatus {
  dir: string | null;
  watching: boolean;
  lastReloadAt: number | null;
  lastReloadError: string[] | null;
}

/**
 * The models folder at run time: loaded before anything reads a model (a broken folder fails start
 * with every error), then watched. A new set replaces the index and the topic router together,
 * synchronously: a message in flight was routed and decoded with one set or the other, and the
 * model object it looked up stays valid (models are frozen; the decoder's compiled form is keyed
 * by model object).
 */
export class ModelFiles {
  private watcher: ModelsWatcher | undefined;

  constructor(private readonly opts: ModelFilesOptions) {}

  async start(): Promise<void> {
    const { dir } = this.opts;
    if (dir === undefined) return;
    this.apply(await loadModelsDirOrThrow(dir), true);
    if (!this.opts.watch) return;
    this.watcher = new ModelsWatcher(dir, (r) => this.apply(r, false), { logger: this.opts.logger });
    await this.watcher.start();
  }

  async stop(): Promise<void> {
    await this.watcher?.stop();
  }

  status(): ModelFilesStatus {
    return {
      dir: this.opts.dir ?? null,
      watching: this.watcher !== undefined,
      lastReloadAt: this.watcher?.lastReloadAt ?? null,
      lastReloadError: this.watcher?.lastReloadError?.map(formatModelError) ?? null,
    };
  }

  private apply(result: ModelSetResult, initial: boolean): void {
    const { index, logger } = this.opts;
    // Built first: if it throws, nothing has changed.
    const router = new TopicRouter(result.set.models);
    const before = new TopicRouter(index.all()).patterns().join('\n');
    index.replace(result.set);
    this.opts.setRouter(router);
    for (const o of result.overrides) {
      logger.info(
        { model: o.id, file: o.file },
        'device model file replaces the shipped model of the same id',
      );
    }
    if (!initial && this.opts.routesCached && before !== router.patterns().join('\n')) {
      logger.warn(
        { patterns: router.patterns() },
        'device model topic patterns changed: decoding uses the new models now, but this MQTT ingress remembers routes per topic; restart the gateway for new topics to route',
      );
    }
  }
}
