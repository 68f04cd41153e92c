import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, parse as parseYamlScalar } from 'yaml';
import type { z } from 'zod';
import { GridgateError } from '../processors/errors.js';
import { resolveConfigPaths } from './paths.js';
import { configSchema, type GridgateConfig } from './schema.js';

/**
 * Load the configuration: YAML file (optional) <- GRIDGATE_SECTION__KEY environment overrides,
 * validated once with every problem listed, then deep-frozen. Nothing else reads config files or
 * the environment; components get their slice through their constructors.
 *
 * Environment: `GRIDGATE_TSDB__BATCH_SIZE=2000` sets tsdb.batchSize (`__` nests, `_` inside a key
 * becomes camelCase). Values are read as YAML scalars (numbers, booleans, JSON lists), falling
 * back to the plain string where the schema wants one.
 *
 * Relative paths (rules.dir, devices.import, ingest.capture, TLS files, cameras.snapshots.dir) in
 * the file resolve against the file's folder; in the environment, against the working directory.
 */
export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadOptions = {}): Readonly<GridgateConfig> {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.GRIDGATE_CONFIG;
  let raw: Record<string, unknown> = {};
  let lines: LineCounter | undefined;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new GridgateError(
        'GG_ERR_CONFIG_READ',
        `cannot read config file ${file}: ${(err as Error).message}`,
        [],
        {
          cause: err,
        },
      );
    }
    lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
    if (doc.errors.length > 0) {
      throw new GridgateError(
        'GG_ERR_CONFIG_INVALID',
        `${file} is not valid YAML`,
        doc.errors.map((e) => e.message),
      );
    }
    const value = doc.toJS() as unknown;
    if (value !== null && value !== undefined) {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new GridgateError(
          'GG_ERR_CONFIG_INVALID',
          `${file} must hold a mapping of sections (log, http, mqtt, ...)`,
        );
      }
      // Paths in the file are relative to the file, not to wherever gridgate was started (./paths.ts).
      raw = resolveConfigPaths(value as Record<string, unknown>, dirname(resolve(file)));
    }
    return finish(applyEnv(raw, env), file, doc, lines);
  }
  return finish(applyEnv(raw, env), undefined);
}

interface Override {
  path: string[];
  text: string;
}

function envOverrides(env: NodeJS.ProcessEnv): Override[] {
  const out: Override[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('GRIDGATE_') || !name.includes('__') || text === undefined) continue;
    const path = name
      .slice('GRIDGATE_'.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    out.push({ path, text });
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const merged = structuredClone(raw);
  const overrides = envOverrides(env);
  for (const o of overrides) {
    let value: unknown;
    try {
      value = parseYamlScalar(o.text);
    } catch {
      value = o.text;
    }
    setPath(merged, o.path, value ?? o.text);
  }
  // Where the schema wants a string but YAML read a number/boolean (a numeric token, say), keep the text.
  const first = configSchema.safeParse(merged);
  if (!first.success) {
    for (const o of overrides) {
      const issue = first.error.issues.find((i) => i.path.join('.') === o.path.join('.'));
      if (issue && issue.code === 'invalid_type' && issue.expected === 'string')
        setPath(merged, o.path, o.text);
    }
  }
  return merged;
}

function finish(
  raw: Record<string, unknown>,
  file: string | undefined,
  doc?: ReturnType<typeof parseDocument>,
  lines?: LineCounter,
): Readonly<GridgateConfig> {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const details = result.error.issues.map((issue) => formatIssue(issue, file, doc, lines));
    throw new GridgateError(
      'GG_ERR_CONFIG_INVALID',
      `configuration is invalid (${details.length} problem${details.length === 1 ? '' : 's'}); gridgate will not start`,
      details,
    );
  }
  return deepFreeze(result.data);
}

function formatIssue(
  issue: z.core.$ZodIssue,
  file: string | undefined,
  doc?: ReturnType<typeof parseDocument>,
  lines?: LineCounter,
): string {
  const path = issue.path.map(String);
  let where = path.join('.') || '(root)';
  if (doc && lines && file) {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const pos = lines.linePos(offset);
      where = `${file}:${pos.line}:${pos.col} ${where}`;
    }
  }
  let message = issue.message;
  if (issue.code === 'unrecognized_keys')
    message = `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  return `${where}: ${message}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
