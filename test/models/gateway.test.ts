import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { mosquittoPub, startGateway } from '../support/gateway.js';

const example = fileURLToPath(new URL('../../config/models/levelpro-us20.yaml', import.meta.url));

async function until<T>(
  what: string,
  get: () => Promise<T> | T,
  ok: (v: T) => boolean,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface ModelsBody {
  dir: string;
  watching: boolean;
  lastReloadError: string[] | null;
  models: { id: string; origin: { kind: string; file: string; line?: number; overrides?: string } }[];
}

let gw: Gateway;
let httpUrl: string;
let modelsDir: string;
const models = async () => (await (await fetch(`${httpUrl}/api/v1/models`)).json()) as ModelsBody;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'gg-models-gw-'));
  await copyFile(example, join(modelsDir, 'levelpro-us20.yaml'));
  ({ gw, httpUrl } = await startGateway([{ id: 'lp-1', model: 'levelpro-us20' }], {
    GRIDGATE_MODELS__DIR: modelsDir,
  }));
});

afterAll(async () => {
  await gw?.stop();
  await rm(modelsDir, { recursive: true, force: true });
});

describe('a gateway with a models folder', () => {
  it('registers devices of a file model, decodes their MQTT messages, lists origins, and survives a broken edit', async () => {
    const body = await models();
    expect(body).toMatchObject({ dir: modelsDir, watching: true, lastReloadError: null });
    expect(body.models.find((m) => m.id === 'levelpro-us20')?.origin).toEqual({
      kind: 'file',
      file: join(modelsDir, 'levelpro-us20.yaml'),
      line: 8,
    });
    expect(body.models.find((m) => m.id === 'hydrotek-wl300')?.origin.kind).toBe('shipped');

    const port = gw.ports.mqtt!;
    const t = new Date().toISOString();
    await mosquittoPub(port, 'sensors/lp-1/up', `{"d":{"dist":226.6,"v":3.6},"t":"${t}"}`, {
      clientId: 'lp-1',
    });
    await until(
      'the reading',
      () => gw.latest.get('lp-1')?.values.water_level_m?.value,
      (v) => v === 1.234,
    );

    await writeFile(
      join(modelsDir, 'broken.yaml'),
      'id: acme-b1\nvendor: Acme\nname: B1\nfamily: flood\nformat: json\nfields: [{ metric: rain_mm, path: r, unit: furlong }]\nreportingIntervalS: 60\n',
    );
    const failed = await until('the refused reload', models, (b) => b.lastReloadError !== null);
    expect(failed.lastReloadError).toEqual([
      `${join(modelsDir, 'broken.yaml')}:6:44 model acme-b1 (fields.0.unit): metric 'rain_mm': unknown unit 'furlong'`,
    ]);
    expect(failed.models.map((m) => m.id)).toContain('levelpro-us20');
    expect(failed.models.map((m) => m.id)).not.toContain('acme-b1');

    // The running set still decodes.
    await mosquittoPub(port, 'sensors/lp-1/up', `{"d":{"dist":126.6},"t":"${new Date().toISOString()}"}`, {
      clientId: 'lp-1',
    });
    await until(
      'the second reading',
      () => gw.latest.get('lp-1')?.values.water_level_m?.value,
      (v) => v === 2.234,
    );

    await writeFile(
      join(modelsDir, 'broken.yaml'),
      'id: acme-b1\nvendor: Acme\nname: B1\nfamily: flood\nformat: json\nfields: [{ metric: rain_mm, path: r }]\nreportingIntervalS: 60\n',
    );
    const fixed = await until('the fixed reload', models, (b) => b.lastReloadError === null);
    expect(fixed.models.find((m) => m.id === 'acme-b1')?.origin).toEqual({
      kind: 'file',
      file: join(modelsDir, 'broken.yaml'),
      line: 1,
    });
    expect(gw.models.get('acme-b1')?.family).toBe('flood');
  });
});
