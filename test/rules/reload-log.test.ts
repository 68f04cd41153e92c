import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { watchRules } from '../../adapters/rules/load-dir.js';
import { engine, rules } from './helpers.js';

const A = 'rules:\n  - { id: a, name: A, condition: "aqi > 200", severity: red }\n';
const BROKEN = `${A}  - { id: broken, name: X, condition: "aqi >", severity: red }\n`;

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a broken rule file, as the log shows it', () => {
  it('is logged once however often it is saved; a new problem and the fix are logged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gg-rules-'));
    dirs.push(dir);
    await writeFile(join(dir, 'a.yaml'), A);
    const lines: { level: number; msg: string; errors?: string[] }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const { e } = await engine(rules(A));
    const w = watchRules(dir, e, { debounceMs: 50, logger });
    await w.start();
    try {
      await writeFile(join(dir, 'a.yaml'), BROKEN);
      await waitFor(() => w.lastReloadError !== undefined);
      const before = w.lastReloadAt;
      // Saved again, still broken the same way (a trailing comment): reloaded, and failed again.
      await writeFile(join(dir, 'a.yaml'), `${BROKEN}# still editing\n`);
      await waitFor(() => w.lastReloadAt !== before);
      expect((await w.reload()).ok).toBe(false);
      const errors = lines.filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.errors).toEqual([expect.stringMatching(/a\.yaml:3:\d+ rule broken \(condition\)/)]);

      await writeFile(join(dir, 'a.yaml'), BROKEN.replace('"aqi >"', '"nosuch > 1"'));
      await waitFor(() => lines.filter((l) => l.level >= 50).length === 2);
      expect(lines.at(-1)!.errors).toEqual([expect.stringMatching(/Unknown variable: nosuch/)]);

      await writeFile(join(dir, 'a.yaml'), A);
      await waitFor(() => lines.at(-1)?.msg === 'rules reloaded');
      await writeFile(join(dir, 'a.yaml'), BROKEN);
      // Broken again after a fix: a fresh problem, logged.
      await waitFor(() => lines.filter((l) => l.level >= 50).length === 3);
    } finally {
      await w.stop();
    }
  });
});
