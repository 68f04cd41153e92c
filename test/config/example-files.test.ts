import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';

/**
 * The shipped example files tell users which config keys to set: every `section.key` they name in a
 * comment must be a key of the configuration schema (the device example once said `devices.file`).
 */
describe('config keys named by the shipped examples exist', () => {
  /** The keys of a section, through zod's default/prefault/optional wrappers. */
  const keysOf = (section: string): Set<string> => {
    let z = (configSchema.shape as Record<string, unknown>)[section] as {
      shape?: Record<string, unknown>;
      _zod?: { def?: { innerType?: unknown } };
    };
    while (z && !z.shape && z._zod?.def?.innerType) z = z._zod.def.innerType as typeof z;
    return new Set(Object.keys(z?.shape ?? {}));
  };
  const sections = new Set(Object.keys(configSchema.shape));

  for (const file of ['config/devices.example.yaml', 'deploy/gridgate.yaml']) {
    it(file, () => {
      const comments = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trimStart().startsWith('#'))
        .join('\n');
      const named = [...comments.matchAll(/`([a-z]+)\.([A-Za-z]+)`/g)].filter(([, s]) => sections.has(s!));
      const missing = named.filter(([, s, k]) => !keysOf(s!).has(k!)).map(([m]) => m);
      expect(missing).toEqual([]);
    });
  }

  it('the device example points at devices.import', () => {
    expect(readFileSync('config/devices.example.yaml', 'utf8')).toContain('`devices.import`');
  });
});
