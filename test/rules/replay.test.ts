import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { rulesCommand } from '../../gateway/cli/rules.js';
import { formatCaptureLine, parseCaptureLine } from '../../processors/rules/capture-format.js';
import { replayCapture } from '../../processors/rules/replay.js';
import { device, MIN, reading, rules, T0 } from './helpers.js';

const d = device();
const capture: string[] = [];
// Level rises past the warning mark at minute 10, back below at minute 40; a noisy hour follows.
for (let i = 0; i < 120; i++) {
  const v = i < 10 ? 2.0 : i < 40 ? 2.7 : i < 60 ? 2.0 : i % 2 ? 2.45 : 2.55;
  capture.push(formatCaptureLine(reading(d, T0 + i * MIN, { water_level_m: v }), d));
}
capture.push('not json\n');

const NAIVE =
  'rules:\n  - { id: flood.level, name: 水位, condition: "water_level_m >= 2.5", severity: yellow }\n';
const TUNED =
  'rules:\n  - { id: flood.level, name: 水位, condition: "water_level_m >= 2.5", clear: "water_level_m < 2.4", severity: yellow }\n';

const dirs: string[] = [];
afterAll(async () => {
  for (const x of dirs) await rm(x, { recursive: true, force: true });
});

describe('replay tool', () => {
  it('capture lines round-trip', () => {
    const r = reading(d, T0, { water_level_m: 1 });
    expect(parseCaptureLine(formatCaptureLine(r, d))).toEqual({ reading: r, device: d });
    expect(parseCaptureLine('{"reading":{}}')).toBeUndefined();
  });

  it('counts incidents, time firing and flaps per rule', async () => {
    const naive = await replayCapture(capture, rules(NAIVE));
    const tuned = await replayCapture(capture, rules(TUNED));
    expect(naive.readings).toBe(120);
    expect(naive.malformed).toBe(1);
    expect(naive.rules[0]).toMatchObject({ ruleId: 'flood.level', incidents: 31 });
    expect(naive.rules[0]!.flaps).toBe(30);
    // The re-fire at minute 60, 20 minutes after the resolve, counts as one flap.
    expect(tuned.rules[0]).toMatchObject({ incidents: 2, flaps: 1, first: T0 + 10 * MIN });
    expect(tuned.rules[0]!.firingMs).toBe(30 * MIN + 59 * MIN);
  });

  it('gridgate rules test prints the table with the diff against another folder', async () => {
    const base = await mkdtemp(join(tmpdir(), 'gg-replay-'));
    dirs.push(base);
    await Promise.all([
      writeFile(join(base, 'capture.ndjson'), capture.join('')),
      mkdtempWrite(join(base, 'naive'), NAIVE),
      mkdtempWrite(join(base, 'tuned'), TUNED),
    ]);
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    try {
      const argv = [
        'test',
        '--rules',
        join(base, 'tuned'),
        '--replay',
        join(base, 'capture.ndjson'),
        '--against',
        join(base, 'naive'),
      ];
      await rulesCommand().exitOverride().parseAsync(argv, { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    const text = out.join('\n');
    expect(text).toContain('120 readings');
    expect(text).toMatch(/flood\.level.*live.*\b2\b/);
    expect(text).toContain('-29 incidents, -29 flaps');
    expect(text).toContain('1h29m'); // time firing: 30m + 59m
  });
});

async function mkdtempWrite(dir: string, text: string): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  await writeFile(join(dir, 'rules.yaml'), text);
}
