import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where file paths in the configuration point. A relative path written in a config file means
 * "next to this file", wherever `gridgate` is started from (the way nginx, systemd units and
 * docker-compose read theirs); one given in a GRIDGATE_* variable or on the command line is
 * relative to the working directory, like any shell argument. The default rules are the ones
 * shipped in the package, found from this module's own location.
 */

/** Every configuration key that names a file or folder. A test checks each exists in the schema. */
export const PATH_KEYS: readonly (readonly string[])[] = [
  ['http', 'tls', 'cert'],
  ['http', 'tls', 'key'],
  ['mqtt', 'embedded', 'tls', 'cert'],
  ['mqtt', 'embedded', 'tls', 'key'],
  ['mqtt', 'auth', 'secretKeyFile'],
  ['devices', 'import'],
  ['rules', 'dir'],
  ['models', 'dir'],
  ['ingest', 'capture'],
  ['cameras', 'snapshots', 'dir'],
  ['dispatch', 'outbox', 'dir'],
  ['tsdb', 'spool', 'dir'],
  // A bare program name ('ffmpeg') is looked up in PATH; only a path with a folder in it is resolved.
  ['cameras', 'ffmpeg'],
];

const COMMAND_KEY = 'cameras.ffmpeg';

/**
 * The package's config/rules: next to this file when run from source (config/paths.ts), or two
 * levels up from the build (dist/config/paths.js), which the package ships beside dist/.
 */
export function shippedRulesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'rules'), join(here, '..', '..', 'config', 'rules')];
  return candidates.find((c) => existsSync(c)) ?? (candidates[0] as string);
}

/** A copy of a parsed config file with its relative paths made absolute against `baseDir`. */
export function resolveConfigPaths(raw: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const path of PATH_KEYS) {
    const parent = walk(out, path.slice(0, -1));
    const key = path[path.length - 1] as string;
    const value = parent?.[key];
    if (typeof value !== 'string' || value === '' || isAbsolute(value)) continue;
    if (path.join('.') === COMMAND_KEY && !value.includes('/')) continue;
    (parent as Record<string, unknown>)[key] = resolve(baseDir, value);
  }
  return out;
}

function walk(node: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let cur = node;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return typeof cur === 'object' && cur !== null && !Array.isArray(cur)
    ? (cur as Record<string, unknown>)
    : undefined;
}
