import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type DeviceModel, defineModel, metric } from '../../processors/devices/define.js';
import { MODELS, ModelIndex } from '../../processors/devices/index.js';
import { SENSOR_FAMILIES } from '../../processors/types.js';

const devicesDir = fileURLToPath(new URL('../../processors/devices/', import.meta.url));

function modelFiles(): string[] {
  const files: string[] = [];
  for (const family of readdirSync(devicesDir)) {
    const dir = join(devicesDir, family);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.ts')) files.push(join(dir, f));
  }
  return files;
}

describe('model index', () => {
  it('every model file under processors/devices/<family>/ is in MODELS', async () => {
    const files = modelFiles();
    expect(files.length).toBeGreaterThanOrEqual(8);
    const unindexed: string[] = [];
    for (const file of files) {
      const mod = (await import(pathToFileURL(file).href)) as { default?: DeviceModel };
      if (!mod.default || !MODELS.includes(mod.default)) unindexed.push(file.slice(devicesDir.length));
    }
    expect(unindexed, 'add these to processors/devices/index.ts').toEqual([]);
  });

  it('model ids are unique, and each file lives in its family folder under its id', async () => {
    const ids = MODELS.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const file of modelFiles()) {
      const m = ((await import(pathToFileURL(file).href)) as { default: DeviceModel }).default;
      expect(file.slice(devicesDir.length)).toBe(join(m.family, `${m.id}.ts`));
    }
  });

  it('ships at least two models per family that sends its own readings', () => {
    // One rtsp-camera model fits every camera: the gateway measures the stream, not the vendor.
    for (const family of SENSOR_FAMILIES) {
      expect(MODELS.filter((m) => m.family === family).length, family).toBeGreaterThanOrEqual(2);
    }
  });

  it('rejects a duplicate id', () => {
    const a = defineModel({
      id: 'acme-x1',
      vendor: 'Acme',
      name: 'X1',
      family: 'flood',
      format: 'json',
      fields: [metric('water_level_m', { path: 'wl' })],
      reportingIntervalS: 60,
    });
    expect(() => new ModelIndex([a, { ...a }])).toThrow(/duplicate device model ids/);
  });

  it('get() and all()', () => {
    const idx = new ModelIndex();
    expect(idx.get('hydrotek-wl300')?.family).toBe('flood');
    expect(idx.get('nope-nope')).toBeUndefined();
    expect(idx.all()).toEqual(MODELS);
  });
});
