import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rulesCommand } from '../../gateway/cli/rules.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  process.exitCode = undefined;
});

async function validate(files: Record<string, string>): Promise<{ err: string[]; out: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'gg-validate-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const err: string[] = [];
  const out: string[] = [];
  const e = vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
  const o = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
  try {
    await rulesCommand().exitOverride().parseAsync(['validate', dir], { from: 'user' });
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
  return { err: err.map((l) => l.replaceAll(`${dir}/`, '')), out };
}

describe('gridgate rules validate: every problem in one run', () => {
  it('duplicate ids are listed together with schema, expression and YAML errors across files', async () => {
    const { err } = await validate({
      'a.yaml': [
        'rules:',
        '  - id: flood.x',
        '    name: X',
        '    condition: "water_level_m >"',
        '    severity: red',
      ].join('\n'),
      'b.yaml': [
        'rules:',
        '  - id: flood.x',
        '    name: X again',
        '    condition: "water_level_m > 3"',
        '    severity: red',
        '  - id: dust.y',
        '    name: Y',
        '    condition: "pm10_ugm3 > 150"',
        '    severity: purple',
        '  - id: dust.y',
        '    name: Y twice',
        '    condition: "pm10_ugm3 > 150"',
        '    severity: orange',
      ].join('\n'),
      'c.yaml': 'rules: [ {id: x',
      'd.yaml': 'rules: {}\n',
    });
    expect(process.exitCode).toBe(1);
    expect(err).toEqual([
      expect.stringMatching(/^a\.yaml:4:\d+ rule flood\.x \(condition\): /),
      expect.stringMatching(
        /^b\.yaml:2:\d+ rule flood\.x \(id\): duplicate rule id \(first defined in a\.yaml:2\)$/,
      ),
      expect.stringMatching(/^b\.yaml:9:\d+ rule dust\.y \(severity\): /),
      expect.stringMatching(
        /^b\.yaml:10:\d+ rule dust\.y \(id\): duplicate rule id \(first defined in b\.yaml:6\)$/,
      ),
      expect.stringMatching(/^c\.yaml:1:\d+: /),
      expect.stringMatching(/^c\.yaml:1:\d+: /),
      expect.stringMatching(/^d\.yaml:1:\d+ \(rules\): /),
      expect.stringMatching(/^7 error\(s\) in /),
    ]);
  });

  it('a valid folder says how many rules it holds', async () => {
    const { err, out } = await validate({
      'a.yaml': 'rules:\n  - { id: a, name: A, condition: "aqi > 200", severity: red }\n',
    });
    expect(err).toEqual([]);
    expect(out).toEqual([expect.stringMatching(/: 1 rule\(s\) valid$/)]);
    expect(process.exitCode).toBeUndefined();
  });
});
