import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchRules } from '../../adapters/rules/load-dir.js';
import { device, engine, reading, rules, T0 } from './helpers.js';

const A = 'rules:\n  - { id: a, name: A, condition: "aqi > 200", severity: red }\n';
const B = 'rules:\n  - { id: b, name: B, condition: "aqi > 100", severity: yellow }\n';

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

describe('hot reload', () => {
  it('incidents of kept rules survive; those of deleted rules resolve', async () => {
    const { e, sink } = await engine(rules(A + B.replace('rules:\n', '')), {
      clock: { now: () => T0 + 5000 },
    });
    const d = device({ id: 'A-1', family: 'air' });
    e.write(reading(d, T0, { aqi: 250 }), d);
    await e.drain();
    expect(sink.types().sort()).toEqual(['alert.firing:red', 'alert.firing:yellow']);
    e.replaceRules(rules(B));
    await e.drain();
    expect(sink.events.at(-1)).toMatchObject({
      type: 'alert.resolved',
      rule: { id: 'a' },
    });
    expect(sink.events.at(-1)!.summary.en).toContain('Resolved (rule deleted)');
    expect(e.listIncidents({ open: true }).map((i) => i.ruleId)).toEqual(['b']);
    e.write(reading(d, T0 + 1000, { aqi: 250 }), d);
    await e.drain();
    expect(sink.events).toHaveLength(3);
  });

  it('a broken file keeps the previous rules running and says why; fixing it reloads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gg-rules-'));
    dirs.push(dir);
    await writeFile(join(dir, 'a.yaml'), A);
    const { e, sink } = await engine(rules(A));
    const w = watchRules(dir, e, { debounceMs: 50 });
    await w.start();
    try {
      await writeFile(
        join(dir, 'a.yaml'),
        `${A}  - { id: broken, name: X, condition: "aqi >", severity: red }\n`,
      );
      await waitFor(() => w.lastReloadError !== undefined);
      expect(w.lastReloadError![0]).toMatchObject({ file: join(dir, 'a.yaml'), line: 3, ruleId: 'broken' });
      expect(e.rules.map((r) => r.id)).toEqual(['a']);
      const d = device({ id: 'A-1', family: 'air' });
      e.write(reading(d, T0, { aqi: 250 }), d);
      await e.drain();
      expect(sink.types()).toEqual(['alert.firing:red']);

      await writeFile(join(dir, 'a.yaml'), B);
      await waitFor(() => e.rules[0]?.id === 'b');
      expect(w.lastReloadError).toBeUndefined();
      const manual = await w.reload();
      expect(manual).toMatchObject({ ok: true, errors: [] });
      expect(manual.ok && manual.value.rules).toHaveLength(1);
    } finally {
      await w.stop();
    }
  });
});
