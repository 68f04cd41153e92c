import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { importDeviceFile } from '../../gateway/device-import.js';
import { GridgateError } from '../../processors/errors.js';
import { readContract } from './contract.js';
import { redisRegistries } from './redis-support.js';

/** A device file as `devices.import` loads it at start: into the Redis registry, through importDeviceFile. */

let dir: string;
const { open } = redisRegistries();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-registry-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh registry with `text` imported from a file named `name`. */
async function imported(text: string, name = 'x.yaml'): Promise<RedisRegistry> {
  const reg = await open();
  const path = join(dir, name);
  await writeFile(path, text);
  await importDeviceFile(reg, path, 'test');
  return reg;
}

/** The error importing `text` fails with; nothing may have been imported. */
async function refusal(text: string, name: string): Promise<GridgateError> {
  const reg = await open();
  const path = join(dir, name);
  await writeFile(path, text);
  const err = await importDeviceFile(reg, path, 'test').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GridgateError);
  expect(reg.size).toBe(0);
  return err as GridgateError;
}

readContract('a YAML device file imported', async (devices) => ({
  reader: await imported(stringify({ devices }), `devices-${randomUUID()}.yaml`),
  close: async () => {},
}));

describe('device YAML file', () => {
  it('imports the shipped example against the real model index', async () => {
    const reg = await open();
    await importDeviceFile(reg, 'config/devices.example.yaml', 'test');
    expect(reg.size).toBeGreaterThanOrEqual(5);
    const families = new Set(reg.list().map((d) => d.family));
    expect([...families].sort()).toEqual(['access', 'air', 'camera', 'dust', 'flood']);
    const gauge = reg.list({ family: 'flood' })[0]!;
    expect(typeof gauge.attrs.warning_level_m).toBe('number');
  });

  it('accepts a bare list as well as { devices: [...] }', async () => {
    const text = `- id: a\n  model: hydrotek-wl300\n  location: { district: d, street: s, community: c, grid: g }\n`;
    expect((await imported(text)).list().map((d) => d.id)).toEqual(['a']);
  });

  it('reports every bad device at once, each with the line of the bad field and the device id', async () => {
    const text = [
      'devices:', // 1
      '  - id: ok-1', // 2
      '    model: hydrotek-wl300', // 3
      '    location: { district: d, street: s, community: c, grid: g }', // 4
      '  - id: bad-model', // 5
      '    model: acme-nothing', // 6
      '    location: { district: d, street: s, community: c, grid: g }', // 7
      '  - id: bad-attr', // 8
      '    model: hydrotek-wl300', // 9
      '    location: { district: d, street: s, community: c, grid: g }', // 10
      '    attrs:', // 11
      '      warning_level_m: [1, 2]', // 12
      '  - id: bad-family', // 13
      '    model: hydrotek-wl300', // 14
      '    family: dust', // 15
      '    location: { district: d, street: s, community: c, grid: g }', // 16
      '    lat: 95', // 17
      '    lon: 114.3', // 18
      '  - id: ok-1', // 19
      '    model: hydrotek-wl300', // 20
      '    location: { district: d, street: s, community: c }', // 21
    ].join('\n');
    const err = await refusal(text, 'devices.yaml');
    expect(err.code).toBe('GG_ERR_DEVICES_INVALID');
    const d = err.details.join('\n');
    expect(d).toMatch(/devices\.yaml:6 device 'bad-model': model: unknown model 'acme-nothing'/);
    expect(d).toMatch(
      /devices\.yaml:12 device 'bad-attr': attrs\.warning_level_m: attribute values are text/,
    );
    expect(d).toMatch(/devices\.yaml:17 device 'bad-family': lat: /);
    expect(d).toMatch(/device 'bad-family': family: family 'dust' does not match model 'hydrotek-wl300'/);
    expect(d).toMatch(/devices\.yaml:21 device 'ok-1': location\.grid: /);
    expect(d).toMatch(/device 'ok-1': id: duplicate id 'ok-1' \(first on line 2\)/);
    expect(err.message).toMatch(/4 invalid row\(s\) in devices\.yaml; nothing was imported/);
  });

  it('reports YAML syntax errors with their line', async () => {
    const err = await refusal('devices:\n  - id: a\n    model: [unclosed\n', 'bad.yaml');
    expect(err.code).toBe('GG_ERR_DEVICES_INVALID');
    expect(err.details[0]).toMatch(/^bad\.yaml:\d+: /);
  });

  it('rejects unknown keys (a typo is not silently ignored)', async () => {
    const text = `- id: a\n  model: hydrotek-wl300\n  location: { district: d, street: s, community: c, grid: g }\n  atrs: { x: 1 }\n`;
    const err = await refusal(text, 'typo.yaml');
    expect(err.details.join('\n')).toMatch(/atrs/);
  });

  it('sorts calibration steps by effective time', async () => {
    const text = `- id: a
  model: hydrotek-wl300
  location: { district: d, street: s, community: c, grid: g }
  calibration:
    water_level_m:
      - { scale: 1, offset: 0.2, from: '2026-06-01T00:00:00+08:00' }
      - { scale: 1, offset: 0.1, from: '2026-01-01T00:00:00Z' }
`;
    const d = (await imported(text)).get('a');
    expect(d?.calibration.water_level_m?.map((s) => s.offset)).toEqual([0.1, 0.2]);
  });

  it('names a file that cannot be read', async () => {
    const err = await importDeviceFile(await open(), join(dir, 'missing.yaml'), 'test').catch((e) => e);
    expect(err).toBeInstanceOf(GridgateError);
    expect((err as GridgateError).message).toMatch(/cannot read device file .*missing\.yaml/);
  });
});
