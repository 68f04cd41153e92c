import type { MessageKind } from '../types.js';
import type { DeviceModel } from './define.js';
import { MODELS, type ModelOrigin, type ModelSet, shippedOrigin } from './index.js';
import { type FileModel, type ModelFileError, parseModelFiles } from './yaml.js';

/**
 * The set the gateway runs: the shipped TypeScript models plus the models folder's files.
 *
 * Ids: two files may not define one id (which one wins would depend on file names). A file MAY
 * define the id of a shipped model, and then replaces it: the site's folder is where an installer
 * fixes a shipped model for a firmware variant without a rebuild, and devices registered with that
 * model follow the fix. It must keep the shipped model's family (registered devices carry it). The
 * replacement is listed with `overrides:` and logged, so it is never silent.
 *
 * Topics: one topic pattern cannot mean two message kinds across the set (the router could not tell
 * them apart); reported at the file model's `topics` line.
 */
export interface ModelSetResult {
  set: ModelSet;
  errors: ModelFileError[];
  /** File models that replace a shipped one: `id` and the file. */
  overrides: { id: string; file: string }[];
}

export function buildModelSet(
  files: readonly { path: string; text: string }[],
  shipped: readonly DeviceModel[] = MODELS,
): ModelSetResult {
  const { models: fileModels, errors } = parseModelFiles(files);
  const shippedById = new Map(shipped.map((m) => [m.id, m]));
  const firstFile = new Map<string, FileModel>();
  const accepted: FileModel[] = [];
  const overrides: { id: string; file: string }[] = [];
  const fail = (fm: FileModel, path: string, message: string) =>
    errors.push({ file: fm.file, ...fm.at(path.split('.')), modelId: fm.model.id, path, message });
  for (const fm of fileModels) {
    const id = fm.model.id;
    const prior = firstFile.get(id);
    if (prior) {
      fail(fm, 'id', `model id '${id}' is also defined in ${prior.file}:${prior.line}`);
      continue;
    }
    firstFile.set(id, fm);
    const base = shippedById.get(id);
    if (base && base.family !== fm.model.family) {
      fail(
        fm,
        'family',
        `replaces the shipped model '${id}' (${shippedOrigin(base).file}) but changes its family from ${base.family} to ${fm.model.family}; give the model a new id`,
      );
      continue;
    }
    if (base) overrides.push({ id, file: fm.file });
    accepted.push(fm);
  }
  const byId = new Map<string, DeviceModel>(shipped.map((m) => [m.id, m]));
  const origins = new Map<string, ModelOrigin>(shipped.map((m) => [m.id, shippedOrigin(m)]));
  for (const fm of accepted) {
    const base = shippedById.get(fm.model.id);
    byId.set(fm.model.id, fm.model);
    origins.set(fm.model.id, {
      kind: 'file',
      file: fm.file,
      line: fm.line,
      ...(base ? { overrides: shippedOrigin(base).file } : {}),
    });
  }
  // Shipped models keep their order (the router's first match wins); new ones follow.
  const models = [...byId.values()];
  topicConflicts(models, firstFile, errors);
  // By file and line, as an editor walks them; a stable sort keeps one line's problems in order.
  errors.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return { set: { models, origins }, errors, overrides };
}

/** The TopicRouter's rule, checked up front so a conflict is an error at a file line, not a throw. */
function topicConflicts(
  models: readonly DeviceModel[],
  fileModels: ReadonlyMap<string, FileModel>,
  errors: ModelFileError[],
): void {
  const seen = new Map<string, { kind: MessageKind; id: string }>();
  for (const m of models) {
    for (const [kind, pattern] of Object.entries(m.topics) as [MessageKind, string][]) {
      const prior = seen.get(pattern);
      if (!prior) {
        seen.set(pattern, { kind, id: m.id });
        continue;
      }
      if (prior.kind === kind) continue;
      // Shipped models agree with each other (a test builds their router), so one side is a file.
      const fm = fileModels.get(m.id)?.model === m ? fileModels.get(m.id) : fileModels.get(prior.id);
      if (!fm) continue;
      const [mine, other] = fm.model === m ? [kind, prior] : [prior.kind, { kind, id: m.id }];
      errors.push({
        file: fm.file,
        ...fm.at(['topics', mine]),
        modelId: fm.model.id,
        path: `topics.${mine}`,
        message: `topic pattern '${pattern}' is ${mine} here but ${other.kind} in model '${other.id}'; one pattern cannot mean two message kinds`,
      });
    }
  }
}
