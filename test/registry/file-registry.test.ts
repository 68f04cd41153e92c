import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FileRegistry, parseDeviceText } from '../../adapters/registry/file-registry.js';
import { GridgateError } from '../../processors/errors.js';
import { readContract } from './contract.js';
import { knownModels } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-registry-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

readContract('FileRegistry', async (devices) => {
  const path = join(dir, `devices-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, stringify({ devices }));
  return { reader: await FileRegistry.load(path, { knownModels }), close: async () => {} };
});

function errorOf(fn: () => unknown): GridgateError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GridgateError) return err;
    throw err;
  }
  throw new Error('expected a GridgateError');
}

describe('device YAML file', () => {
  it('loads the shipped example against the real model index', async () => {
    const reg = await FileRegistry.load('config/devices.example.yaml', { knownModels });
    expect(reg.size).toBeGreaterThanOrEqual(5);
    const families = new Set(reg.list().map((d) => d.family));
    expect([...families].sort()).toEqual(['access', 'air', 'camera', 'dust', 'flood']);
    const gauge = reg.list({ family: 'flood' })[0]!;
    expect(typeof gauge.attrs.warning_level_m).toBe('number');
  });

  it('accepts a bare list as well as { devices: [...] }', () => {
    const text = `- id: a\n  model: hydrotek-wl300\n  location: { district: d, street: s, community: c, grid: g }\n`;
    expect(parseDeviceText(text, 'x.yaml', knownModels).map((d) => d.id)).toEqual(['a']);
  });

  it('reports every bad device at once, each with the line of the bad field and the device id', () => {
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
    const err = errorOf(() => parseDeviceText(text, 'devices.yaml', knownModels));
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
    expect(err.message).toMatch(/4 invalid device/);
  });

  it('reports YAML syntax errors with their line', () => {
    const err = errorOf(() =>
      parseDeviceText('devices:\n  - id: a\n    model: [unclosed\n', 'bad.yaml', knownModels),
    );
    expect(err.details[0]).toMatch(/^bad\.yaml:\d+: /);
  });

  it('rejects unknown keys (a typo is not silently ignored)', () => {
    const text = `- id: a\n  model: hydrotek-wl300\n  location: { district: d, street: s, community: c, grid: g }\n  atrs: { x: 1 }\n`;
    const err = errorOf(() => parseDeviceText(text, 'x.yaml', knownModels));
    expect(err.details.join('\n')).toMatch(/atrs/);
  });

  it('sorts calibration steps by effective time', () => {
    const text = `- id: a
  model: hydrotek-wl300
  location: { district: d, street: s, community: c, grid: g }
  calibration:
    water_level_m:
      - { scale: 1, offset: 0.2, from: '2026-06-01T00:00:00+08:00' }
      - { scale: 1, offset: 0.1, from: '2026-01-01T00:00:00Z' }
`;
    const [d] = parseDeviceText(text, 'x.yaml', knownModels);
    expect(d?.calibration.water_level_m?.map((s) => s.offset)).toEqual([0.1, 0.2]);
  });
});
