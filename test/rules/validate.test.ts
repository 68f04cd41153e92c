import { describe, expect, it } from 'vitest';
import { loadRulesDir } from '../../adapters/rules/load-dir.js';
import { compileExpr, quoteDurations } from '../../processors/rules/expr.js';
import { formatRuleError, parseRuleFiles } from '../../processors/rules/parse.js';

describe('rule validation', () => {
  it('reports every error of every file at once, with file, line and rule id', () => {
    const a = [
      'rules:',
      '  - id: ok.rule',
      '    name: OK',
      '    condition: "aqi > 100"',
      '    severity: yellow',
      '  - id: bad.metric',
      '    name: Bad metric',
      '    condition: "water_levl_m > 3"',
      '    severity: red',
      '  - id: bad.duration',
      '    name: Bad',
      '    condition: "aqi > 1"',
      '    severity: purple',
      '    for: 5 minutes',
    ].join('\n');
    const b = [
      'rules:',
      '  - id: ok.rule',
      '    name: dup',
      '    nodata: 10m',
      '    severity: blue',
      '  - id: two.kinds',
      '    name: x',
      '    nodata: 1m',
      '    event: "access.event == \'x\'"',
      '    severity: red',
    ].join('\n');
    const { set, errors } = parseRuleFiles([
      { path: 'a.yaml', text: a },
      { path: 'b.yaml', text: b },
      { path: 'c.yaml', text: 'rules: [ {id: x' },
    ]);
    const lines = errors.map(formatRuleError);
    expect(set.rules.map((r) => r.id)).toEqual(['ok.rule']);
    expect(lines).toContainEqual(
      expect.stringMatching(/^a\.yaml:8:\d+ rule bad\.metric \(condition\): Unknown variable: water_levl_m/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^a\.yaml:13:\d+ rule bad\.duration \(severity\): /));
    expect(lines).toContainEqual(
      expect.stringMatching(/^a\.yaml:14:\d+ rule bad\.duration \(for\): "5 minutes" is not a duration/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^b\.yaml:2:\d+ rule ok\.rule \(id\): duplicate rule id \(first defined in a\.yaml:2\)/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^b\.yaml:6:\d+ rule two\.kinds: a rule needs exactly one of condition, event, nodata, correlation/,
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^c\.yaml:1:\d+: /));
  });

  it('window calls: durations are quoted outside strings only, and bad calls are explained', () => {
    expect(quoteDurations(`avg(pm10_ugm3, 15m) > 1 && tags.x == ', 5m'`)).toBe(
      `avg(pm10_ugm3, "15m") > 1 && tags.x == ', 5m'`,
    );
    expect(() => compileExpr('avg(noise, 5m) > 1')).toThrow(/neither a canonical metric nor an access event/);
    expect(() => compileExpr('avg(denied, 5m) > 1')).toThrow(/only count\(\) applies/);
    expect(compileExpr('max(aqi, 1h) > 1').windows[0]).toMatchObject({
      fn: 'max',
      source: 'aqi',
      durationMs: 3_600_000,
    });
  });

  it('the shipped default rules are valid and cover the domain', async () => {
    const { set, errors } = await loadRulesDir('config/rules');
    expect(errors.map(formatRuleError)).toEqual([]);
    const kinds = new Set(set.rules.map((r) => r.kind));
    expect([...kinds].sort()).toEqual(['condition', 'correlation', 'event', 'nodata']);
    for (const id of [
      'flood.water-level',
      'dust.pm10-15min',
      'air.aqi',
      'access.door-forced',
      'access.door-held',
      'access.denied-burst',
    ]) {
      expect(set.rules.some((r) => r.id === id)).toBe(true);
    }
  });
});

describe('selectors and the validate verb', () => {
  it('location wildcards, families, models and labels', async () => {
    const { compileSelector } = await import('../../processors/rules/selector.js');
    const { device } = await import('./helpers.js');
    const m = compileSelector({
      family: ['flood'],
      location: { district: '鼓楼区', community: '*' },
      model: ['acme-*'],
    });
    expect(m(device())).toBe(true);
    expect(m(device({ location: { district: '台江区', street: 's', community: 'c', grid: 'g' } }))).toBe(
      false,
    );
    expect(m(device({ model: 'other' }))).toBe(false);
    expect(m(device({ family: 'dust' }))).toBe(false);
    const l = compileSelector({ labels: { owner: '城管' } });
    expect(l(device({ labels: { owner: '城管' } }))).toBe(true);
    expect(l(device())).toBe(false);
  });

  it('`gridgate rules validate DIR` lists each error and sets exit code 1', async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { vi } = await import('vitest');
    const { rulesCommand } = await import('../../gateway/cli/rules.js');
    const dir = await mkdtemp(join(tmpdir(), 'gg-validate-'));
    await writeFile(
      join(dir, 'x.yaml'),
      'rules:\n  - id: x\n    name: X\n    condition: "aqi >> 1"\n    severity: red\n',
    );
    const errs: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((s: string) => void errs.push(s));
    try {
      await rulesCommand().exitOverride().parseAsync(['validate', dir], { from: 'user' });
      expect(process.exitCode).toBe(1);
    } finally {
      spy.mockRestore();
      process.exitCode = 0;
      await rm(dir, { recursive: true, force: true });
    }
    expect(errs[0]).toMatch(new RegExp(`^${join(dir, 'x.yaml')}:4:\\d+ rule x \\(condition\\): `));
  });
});
