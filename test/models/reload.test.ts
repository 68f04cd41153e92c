import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelFiles } from '../../gateway/models.js';
import { ModelIndex } from '../../processors/devices/index.js';
import { Pipeline } from '../../processors/pipeline.js';
import type { Device, Reading } from '../../processors/types.js';

const example = fileURLToPath(new URL('../../config/models/levelpro-us20.yaml', import.meta.url));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const NEW_MODEL = `# a new vendor, on its own topic tree
id: acme-rg1
vendor: Acme
name: RG1 rain gauge
family: flood
format: json
topics: { telemetry: 'acme/{deviceId}/data', event: 'acme/{deviceId}/ev', status: 'acme/{deviceId}/lwt' }
fields:
  - { metric: rain_mm, path: r, unit: '0.1mm' }
reportingIntervalS: 60
`;

let dir: string;
let files: ModelFiles;
let index: ModelIndex;
let logs: { level: number; msg: string; errors?: string[] }[];
const readings: Reading[] = [];

const device = (id: string, model: string): Device => ({
  id,
  model,
  family: 'flood',
  location: { district: 'd', street: 's', community: 'c', grid: 'g' },
  state: 'active',
  attrs: {},
  labels: {},
  cameras: [],
});
const devices = new Map([
  ['lp-1', device('lp-1', 'levelpro-us20')],
  ['rg-1', device('rg-1', 'acme-rg1')],
]);
let pipeline: Pipeline;

/** Route a topic with the gateway's current router and hand it to the pipeline, as the MQTT edge does. */
function publish(topic: string, payload: string): Reading[] {
  const routed = files.router.match(topic);
  if (!routed) return [];
  readings.length = 0;
  pipeline.handle({
    transport: 'mqtt',
    ...routed,
    topic,
    payload: Buffer.from(payload),
    receivedAt: Date.now(),
  });
  return [...readings];
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-models-'));
  await copyFile(example, join(dir, 'levelpro-us20.yaml'));
  logs = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        logs.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  index = new ModelIndex();
  pipeline = new Pipeline({
    devices: { get: (id) => devices.get(id) },
    models: index,
    sinks: [{ write: (r) => void readings.push(r) }],
    rejects: { reject: () => {} },
  });
  files = new ModelFiles({
    dir,
    watch: true,
    index,
    logger,
  });
  await files.start();
});

afterEach(async () => {
  await files.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the models folder is hot-reloaded like rules', () => {
  it('a broken file is refused with file:line, logged once, and the running set keeps decoding', async () => {
    const now = new Date().toISOString();
    expect(index.origin('levelpro-us20')).toMatchObject({
      kind: 'file',
      file: join(dir, 'levelpro-us20.yaml'),
    });
    expect(publish('sensors/lp-1/up', `{"d":{"dist":226.6},"t":"${now}"}`)[0]?.fields).toEqual({
      water_level_m: 1.234,
    });

    // Line 8 maps to an unknown unit, line 9 has a typo'd key.
    const broken = NEW_MODEL.replace(
      "  - { metric: rain_mm, path: r, unit: '0.1mm' }\n",
      "  - { metric: rain_mm, path: r, unit: 'furlong' }\n  - { metric: battery_v, path: v, sacle: 2 }\n",
    );
    await writeFile(join(dir, 'acme-rg1.yaml'), broken);
    await until('the failed reload', () => files.status().lastReloadError !== null);
    const errors = files.status().lastReloadError!;
    expect(errors).toEqual([
      `${join(dir, 'acme-rg1.yaml')}:9:39 model acme-rg1 (fields.0.unit): metric 'rain_mm': unknown unit 'furlong'`,
      `${join(dir, 'acme-rg1.yaml')}:10:5 model acme-rg1 (fields.1): Unrecognized key: "sacle"`,
    ]);
    expect(index.get('acme-rg1')).toBeUndefined();
    expect(files.router.match('acme/rg-1/data')).toBeUndefined();
    expect(publish('sensors/lp-1/up', `{"d":{"dist":226.6},"t":"${now}"}`)).toHaveLength(1);

    // Saved again with the same mistakes: reloaded and refused again, logged at error level once.
    const at = files.status().lastReloadAt;
    await writeFile(join(dir, 'acme-rg1.yaml'), `${broken}\n`);
    await until('the second reload', () => files.status().lastReloadAt !== at);
    // lastReloadAt moves when a reload starts; its verdict is logged once the folder is loaded.
    const refusals = () => logs.filter((l) => l.msg.startsWith('device models not reloaded'));
    await until('the second refusal', () => refusals().length >= 2);
    const refused = refusals();
    // Error level once; each later refusal of the same problems at debug level only.
    expect(refused[0]).toMatchObject({ level: 50, errors });
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.slice(1).every((l) => l.level === 20)).toBe(true);

    // Fixed: the new model and its own topic tree are live, the error is gone.
    await writeFile(join(dir, 'acme-rg1.yaml'), NEW_MODEL);
    await until('the fixed reload', () => index.get('acme-rg1') !== undefined);
    expect(files.status().lastReloadError).toBeNull();
    expect(index.origin('acme-rg1')).toEqual({ kind: 'file', file: join(dir, 'acme-rg1.yaml'), line: 2 });
    expect(publish('acme/rg-1/data', '{"r":25}')[0]?.fields).toEqual({ rain_mm: 2.5 });
  });

  it('a changed model decodes the next message; a removed file takes its model away', async () => {
    const now = new Date().toISOString();
    const old = index.get('levelpro-us20');
    const text = await readFile(example, 'utf8');
    await writeFile(join(dir, 'levelpro-us20.yaml'), text.replace('offset: 350', 'offset: 400'));
    await until('the new offset', () => index.get('levelpro-us20') !== old);
    expect(publish('sensors/lp-1/up', `{"d":{"dist":226.6},"t":"${now}"}`)[0]?.fields).toEqual({
      water_level_m: 1.734,
    });
    await rm(join(dir, 'levelpro-us20.yaml'));
    await until('the removal', () => index.get('levelpro-us20') === undefined);
    expect(files.router.match('sensors/lp-1/up')).toBeUndefined();
    expect(index.get('hydrotek-wl300')?.family).toBe('flood'); // the shipped models stay
  });
});
