import type { Logger } from 'pino';
import { FolderReloader } from '../adapters/fs/folder-reloader.js';
import { loadModelsDir } from '../adapters/models/load-dir.js';
import type { DeviceModel } from '../processors/devices/define.js';
import type { ModelIndex } from '../processors/devices/index.js';
import type { ModelSetResult } from '../processors/devices/model-set.js';
import { formatModelError, type ModelFileError } from '../processors/devices/yaml.js';
import { GridgateError } from '../processors/errors.js';
import { TopicRouter } from '../processors/topics.js';

export interface ModelFilesOptions {
  /** config models.dir; undefined: the shipped models only. */
  dir?: string;
  watch: boolean;
  /** The gateway's index: the pipeline, the registry's model check and the broker ACL read it. */
  index: ModelIndex;
  /**
   * Tells the MQTT edge, once there is one, to forget the routes it remembers per topic and to
   * subscribe to what the new router needs, when a reload changes the models' topics.
   */
  reroute?: (router: TopicRouter) => Promise<void> | undefined;
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
  /** The topic router of the current set, replaced in the same tick as the index. */
  router: TopicRouter;
  private watcher: FolderReloader<ModelSetResult, ModelFileError> | undefined;
  /** The MQTT edge's last forgetRoutes (it never rejects: failures are logged). */
  private rerouted: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ModelFilesOptions) {
    this.router = new TopicRouter(opts.index.all());
  }

  async start(): Promise<void> {
    const { dir } = this.opts;
    if (dir === undefined) return;
    const first = await loadModelsDir(dir);
    if (first.errors.length) {
      throw new GridgateError(
        'GG_ERR_MODEL_INVALID',
        `${first.errors.length} error(s) in models folder ${dir}; fix them (gridgate models validate ${dir})`,
        first.errors.map(formatModelError),
      );
    }
    this.apply(first, true);
    if (!this.opts.watch) return;
    // Later sets are applied only when the whole folder is clean; a broken file keeps the previous set.
    this.watcher = new FolderReloader({
      dir,
      what: 'device models',
      load: async (d) => {
        const result = await loadModelsDir(d);
        return { value: result, errors: result.errors };
      },
      apply: (r) => this.apply(r, false),
      describe: (r) => ({ models: r.set.models.length, overrides: r.overrides.map((o) => o.id) }),
      format: formatModelError,
      logger: this.opts.logger,
    });
    await this.watcher.start();
  }

  async stop(): Promise<void> {
    await this.watcher?.stop();
    await this.rerouted;
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
    const before = topicsKey(index.all());
    index.replace(result.set);
    this.router = router;
    for (const o of result.overrides) {
      logger.info(
        { model: o.id, file: o.file },
        'device model file replaces the shipped model of the same id',
      );
    }
    if (!initial && before !== topicsKey(result.set.models)) this.reroute(router);
  }

  /**
   * The MQTT edge remembers per topic what the old router answered (the threaded broker even that a
   * topic routes nowhere) and which topics each connection may publish on; an external broker
   * sends only what the old filters cover. Routes and filters follow the new models here. Messages
   * in between are routed with either set, as with decoding.
   */
  private reroute(router: TopicRouter): void {
    const { logger } = this.opts;
    logger.info({ patterns: router.patterns() }, 'device model topics changed; MQTT routes follow');
    // Called now, in the tick of the swap: the routes remembered go with the router they came from.
    const done = (async () => this.opts.reroute?.(router))().catch((err: unknown) =>
      logger.error({ err }, 'the MQTT edge could not follow the new device model topics'),
    );
    this.rerouted = Promise.all([this.rerouted, done]).then(() => undefined);
  }
}

/** Which model publishes on which topics, in order: the router and the device ACLs follow from it. */
function topicsKey(models: readonly DeviceModel[]): string {
  return JSON.stringify(models.map((m) => [m.id, m.topics]));
}
