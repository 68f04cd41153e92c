import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { codeSpec, hj212Metric } from '../hj212/codes.js';
import type { MetricName } from '../metrics/catalogue.js';
import type { Unit } from '../metrics/units.js';
import type { Family } from '../types.js';
import { locateYamlPath } from '../yaml-locate.js';
import {
  type DeviceModel,
  defineModel,
  type EventMapping,
  type FieldMapping,
  type MetricOptions,
  type ModelInput,
  metric,
  metricProblems,
  modelProblems,
  type TimeFormat,
  type WireFormat,
} from './define.js';

/**
 * Device models written as YAML files, for an integrator on site: the same `ModelInput` a
 * TypeScript model passes to `defineModel`, spelt as data. Each field is `metric:` + `path:` (what
 * `metric()` takes) or, for HJ 212 models, `code:` (what `hj212Metric()` takes). The file is turned
 * into a ModelInput and handed to `defineModel` itself, after the shared checks (metricProblems,
 * modelProblems) have run with every problem located at its line. Pure: the caller reads files.
 */

/** One problem in a model file, located so an installer can jump to it. */
export interface ModelFileError {
  file: string;
  line: number;
  col: number;
  modelId?: string;
  /** Dotted path inside the model (`fields.2.unit`). */
  path: string;
  message: string;
}

export function formatModelError(e: ModelFileError): string {
  const model = e.modelId ? ` model ${e.modelId}` : '';
  const path = e.path ? ` (${e.path})` : '';
  return `${e.file}:${e.line}:${e.col}${model}${path}: ${e.message}`;
}

/** A model read from a file, with where it starts. */
export interface FileModel {
  model: DeviceModel;
  file: string;
  line: number;
  /** Where a key of this model sits in its file (`['topics', 'event']`), for problems found later. */
  at(path: readonly (string | number)[]): { line: number; col: number };
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const fieldSchema = z.strictObject({
  /** A canonical metric (processors/metrics/catalogue.ts); with `path`. */
  metric: z.string().min(1).optional(),
  /** An HJ 212-2017 code (processors/hj212/codes.ts): metric, path and unit come from the code table. */
  code: z.string().min(1).optional(),
  path: z.string().min(1).optional(),
  unit: z.string().min(1).optional(),
  scale: finite.optional(),
  offset: finite.optional(),
  range: z.tuple([finite, finite]).optional(),
});
type FieldInput = z.infer<typeof fieldSchema>;

const codeMap = z.record(z.string(), z.string());

export const modelFileSchema = z.strictObject({
  id: z.string(),
  vendor: z.string(),
  name: z.string(),
  family: z.string(),
  format: z.string(),
  description: z.string().optional(),
  reportingIntervalS: z.number(),
  topics: z.record(z.string(), z.string()).optional(),
  time: z.strictObject({ path: z.string().min(1), format: z.string() }).optional(),
  fields: z.array(z.unknown()).default([]),
  event: z
    .strictObject({
      path: z.string().min(1),
      map: codeMap,
      door: z.string().min(1).optional(),
      method: z.strictObject({ path: z.string().min(1), map: codeMap }).optional(),
    })
    .optional(),
});

/**
 * Parse model files: every model, or every error of every file at once. A file holds one model
 * (a mapping with `id:`) or several (`models: [...]`). Ids are not compared here (model-set.ts
 * does, across files and against the shipped models).
 */
export function parseModelFiles(files: readonly { path: string; text: string }[]): {
  models: FileModel[];
  errors: ModelFileError[];
} {
  const models: FileModel[] = [];
  const errors: ModelFileError[] = [];
  for (const f of files) {
    const lc = new LineCounter();
    const doc = parseDocument(f.text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    const at = (path: readonly (string | number)[]) => lc.linePos(locateYamlPath(doc.contents, path));
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const p = lc.linePos(e.pos[0]);
        errors.push({ file: f.path, line: p.line, col: p.col, path: '', message: e.message.split('\n')[0]! });
      }
      continue;
    }
    const js: unknown = doc.toJS();
    let items: { raw: unknown; base: (string | number)[] }[];
    if (js && typeof js === 'object' && !Array.isArray(js) && 'models' in js) {
      const list = (js as { models: unknown }).models;
      if (!Array.isArray(list) || Object.keys(js).length !== 1) {
        const p = at(['models']);
        errors.push({
          file: f.path,
          line: p.line,
          col: p.col,
          path: 'models',
          message: 'a file with several models is `models: [...]` and nothing else',
        });
        continue;
      }
      items = list.map((raw, i) => ({ raw, base: ['models', i] }));
    } else {
      items = [{ raw: js, base: [] }];
    }
    for (const { raw, base } of items) {
      const modelId =
        raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string'
          ? (raw as { id: string }).id
          : undefined;
      const push = (path: readonly (string | number)[], message: string) => {
        const p = at([...base, ...path]);
        errors.push({ file: f.path, line: p.line, col: p.col, modelId, path: path.join('.'), message });
      };
      const model = buildModel(raw, push);
      if (model) models.push({ model, file: f.path, line: at(base).line, at: (p) => at([...base, ...p]) });
    }
  }
  return { models, errors };
}

type Push = (path: readonly (string | number)[], message: string) => void;

/** One model document -> the DeviceModel defineModel makes of it, or undefined after pushing every problem. */
function buildModel(raw: unknown, push: Push): DeviceModel | undefined {
  const top = modelFileSchema.safeParse(raw ?? {});
  if (!top.success) {
    for (const i of top.error.issues) push(i.path as (string | number)[], i.message);
    return undefined;
  }
  const d = top.data;
  let bad = false;
  const fields: FieldMapping[] = [];
  /** fields[k] came from d.fields[fieldIndex[k]]: a problem in fields[k] is reported at its own line. */
  const fieldIndex: number[] = [];
  d.fields.forEach((rawField, i) => {
    const mapping = buildField(rawField, d.format, (path, message) => push(['fields', i, ...path], message));
    if (mapping) {
      fields.push(mapping);
      fieldIndex.push(i);
    } else bad = true;
  });
  const input: ModelInput = {
    id: d.id,
    vendor: d.vendor,
    name: d.name,
    family: d.family as Family,
    format: d.format as WireFormat,
    ...(d.topics ? { topics: d.topics } : {}),
    ...(d.time ? { time: { path: d.time.path, format: d.time.format as TimeFormat } } : {}),
    fields,
    ...(d.event ? { event: d.event as EventMapping } : {}),
    reportingIntervalS: d.reportingIntervalS,
    ...(d.description !== undefined ? { description: d.description } : {}),
  };
  const brokenFields = bad;
  for (const p of modelProblems(input)) {
    const [head, k, ...rest] = p.path;
    // "needs at least one field" says nothing new when the fields are there but broken.
    if (brokenFields && head === 'fields' && k === undefined) continue;
    // A field problem points at the field's entry in the file, not at its index among the good ones.
    const path =
      head === 'fields' && typeof k === 'number' ? ['fields', fieldIndex[k] ?? k, ...rest] : p.path;
    push(path, p.message);
    bad = true;
  }
  // An access model with no fields is valid; a non-access one with only broken fields says so once.
  return bad ? undefined : defineModel(input);
}

/** One entry of `fields:` -> the FieldMapping `metric()` / `hj212Metric()` makes of it. */
function buildField(raw: unknown, format: string, push: Push): FieldMapping | undefined {
  const parsed = fieldSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) push(i.path as (string | number)[], i.message);
    return undefined;
  }
  const f: FieldInput = parsed.data;
  const opts: Omit<MetricOptions, 'path'> = {
    ...(f.unit !== undefined ? { unit: f.unit as Unit } : {}),
    ...(f.scale !== undefined ? { scale: f.scale } : {}),
    ...(f.offset !== undefined ? { offset: f.offset } : {}),
    ...(f.range !== undefined ? { range: f.range } : {}),
  };
  if ((f.metric === undefined) === (f.code === undefined)) {
    push([], 'a field is either `metric:` with `path:`, or `code:` (an HJ 212 code)');
    return undefined;
  }
  if (f.code !== undefined) {
    if (format !== 'hj212') {
      push(['code'], '`code:` maps an HJ 212 code, for `format: hj212` models; use `metric:` with `path:`');
      return undefined;
    }
    if (f.path !== undefined) {
      push(['path'], 'an HJ 212 field takes its path from `code:`; remove `path:`');
      return undefined;
    }
    const spec = codeSpec(f.code);
    if (!spec?.metric) {
      push(
        ['code'],
        spec
          ? `HJ 212 code '${f.code}' has no canonical metric yet (processors/hj212/codes.ts)`
          : `'${f.code}' is not an HJ 212 code known to processors/hj212/codes.ts`,
      );
      return undefined;
    }
    const problems = metricProblems(spec.metric, { path: f.code, unit: spec.unit, ...opts });
    for (const p of problems) push([p.key === 'metric' ? 'code' : p.key], p.message);
    return problems.length ? undefined : hj212Metric(f.code, opts);
  }
  if (f.path === undefined) {
    push(['path'], `metric '${f.metric}' needs \`path:\`, where the vendor puts the value`);
    return undefined;
  }
  const name = f.metric as MetricName;
  const problems = metricProblems(name, { path: f.path, ...opts });
  for (const p of problems) push([p.key], p.message);
  return problems.length ? undefined : metric(name, { path: f.path, ...opts });
}
