import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * The README promises Node 20 (package.json `engines`). A locked dependency that declares a newer
 * Node makes `npm ci` warn (EBADENGINE) and may use APIs Node 20 lacks, so every package in the
 * lock file must accept the oldest Node gridgate supports.
 */
describe('locked dependencies run on the Node gridgate supports', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[] }>;
  };
  const oldest = semver.minVersion(pkg.engines.node);

  it('declares a minimum Node version', () => {
    expect(oldest?.major).toBe(20);
  });

  it('has no package whose engines.node excludes it', () => {
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (path !== '' && range && oldest && !semver.satisfies(oldest, range)) {
        refused.push(`${path} needs node ${range}`);
      }
    }
    expect(refused).toEqual([]);
  });
});
