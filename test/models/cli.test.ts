import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const configModels = join(root, 'config/models');

/** The `models` command as main.ts mounts it, with main.ts's error reporting, in a child process. */
const SCRIPT = [
  "import { modelsCommand } from './gateway/cli/models.ts';",
  "try { await modelsCommand().parseAsync(process.argv.slice(1), { from: 'user' }); }",
  "catch (err) { console.error('gridgate: ' + err.message); process.exitCode = 1; }",
].join('\n');

function run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { NO_COLOR: _n, FORCE_COLOR: _f, GRIDGATE_CONFIG: _c, ...env } = process.env;
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', SCRIPT, '--', ...args],
      { cwd: root, timeout: 60_000, env },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin ?? '');
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-models-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gridgate models', () => {
  it('validate: a clean folder passes; a broken one lists every error with file:line and model id, exit 1', async () => {
    const ok = await run(['validate', configModels]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${configModels}: 4 model(s) valid`);
    expect(ok.stdout).toContain('hydrotek-wl300 replaces the shipped model');

    const bad = join(dir, 'bad');
    await mkdir(bad);
    await copyFile(join(configModels, 'levelpro-us20.yaml'), join(bad, 'a.yaml'));
    await copyFile(join(configModels, 'levelpro-us20.yaml'), join(bad, 'b.yaml'));
    await writeFile(
      join(bad, 'c.yaml'),
      'id: acme-c1\nvendor: Acme\nname: C1\nfamily: dust\nformat: hj212\nfields:\n  - code: a99999\n  - code: a34004\n    unit: furlong\nreportingIntervalS: 60\n',
    );
    const r = await run(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${join(bad, 'b.yaml')}:8:5 model levelpro-us20 (id): model id 'levelpro-us20' is also defined in ${join(bad, 'a.yaml')}:8`,
      `${join(bad, 'c.yaml')}:7:11 model acme-c1 (fields.0.code): 'a99999' is not an HJ 212 code known to processors/hj212/codes.ts`,
      `${join(bad, 'c.yaml')}:9:11 model acme-c1 (fields.1.unit): metric 'pm25_ugm3': unknown unit 'furlong'`,
      '3 error(s) in model files',
    ]);
  });

  it('test: prints the canonical readings of a sample payload from a file, exit 0', async () => {
    const sample = join(dir, 'wl.json');
    await writeFile(sample, '{"ts":1767225600,"wl":1234,"rain":0.5,"bat":3612,"rssi":-87}\n');
    const r = await run(['test', 'hydrotek-wl300', '--payload', sample, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { readings: { measurement: string; time: number; fields: object }[] };
    expect(out.readings.map((x) => [x.measurement, x.time, x.fields])).toEqual([
      ['flood', 1767225600000, { water_level_m: 1.234, rain_mm: 0.5, battery_v: 3.612 }],
      ['device', 1767225600000, { rssi_dbm: -87 }],
    ]);
  });

  it('test --models DIR: a model file not installed yet, payload on stdin; rejects are printed, exit 1', async () => {
    const r = await run(
      ['test', 'levelpro-us20', '--models', configModels, '--payload', '-'],
      '{"d":{"dist":400,"v":"low"},"t":"2026-01-01T08:00:00+08:00"}',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`levelpro-us20 (${join(configModels, 'levelpro-us20.yaml')}:8), telemetry:`);
    expect(r.stdout).toContain('rejected: out_of_range (water_level_m)');
    expect(r.stdout).toContain('rejected: wrong_type (battery_v)');

    const hj = await run(
      ['test', 'sinodust-yc200-hj212', '--payload', '-', '--json'],
      'QN=20260101080000000;ST=22;CN=2011;PW=123456;MN=YC1;Flag=5;CP=&&DataTime=20260101080000;a34004-Rtd=35,a34004-Flag=N;LA-Rtd=62.5,LA-Flag=N&&\n',
    );
    expect(hj.code).toBe(0);
    expect(JSON.parse(hj.stdout).readings[0]).toMatchObject({
      measurement: 'dust',
      time: Date.UTC(2026, 0, 1),
      fields: { pm25_ugm3: 35, noise_dba: 62.5 },
      tags: { quality: 'N' },
    });

    const unknown = await run(['test', 'nobody-nothing', '--payload', '-'], '{}');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("model 'nobody-nothing' not found");
  });

  it('list: every model with its origin', async () => {
    const r = await run(['list', '--models', configModels, '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { id: string; origin: { kind: string; file: string } }[];
    expect(list.find((m) => m.id === 'riverwatch-fg2')?.origin).toEqual({
      kind: 'shipped',
      file: 'processors/devices/flood/riverwatch-fg2.ts',
    });
    expect(list.find((m) => m.id === 'levelpro-us20')?.origin).toEqual({
      kind: 'file',
      file: join(configModels, 'levelpro-us20.yaml'),
      line: 8,
    });
  });
});
