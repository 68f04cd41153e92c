import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModelsDir } from '../../adapters/models/load-dir.js';
import facepassFp3 from '../../processors/devices/access/facepass-fp3.js';
import { type DeviceModel, defineModel, metric } from '../../processors/devices/define.js';
import sinodustYc200Hj212 from '../../processors/devices/dust/sinodust-yc200-hj212.js';
import hydrotekWl300 from '../../processors/devices/flood/hydrotek-wl300.js';
import { MODELS } from '../../processors/devices/index.js';
import { buildModelSet } from '../../processors/devices/model-set.js';
import { decodeSample } from '../../processors/devices/sample.js';
import { formatModelError, parseModelFiles } from '../../processors/devices/yaml.js';
import { buildFrame } from '../../processors/hj212/frame.js';

const configModels = fileURLToPath(new URL('../../config/models/', import.meta.url));
const T0 = Date.UTC(2026, 0, 1, 0, 5, 0);

/** The model without its functions (compared through decoding below). */
function data(m: DeviceModel): unknown {
  return JSON.parse(JSON.stringify(m));
}

async function fileModel(id: string): Promise<DeviceModel> {
  const { set, errors } = await loadModelsDir(configModels);
  expect(errors.map(formatModelError)).toEqual([]);
  expect(set.origins.get(id)).toMatchObject({ kind: 'file', file: `${configModels}${id}.yaml` });
  return set.models.find((m) => m.id === id)!;
}

function decodeBoth(
  ts: DeviceModel,
  file: DeviceModel,
  payload: string | Buffer,
  kind = 'telemetry' as const,
) {
  const buf = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const a = decodeSample(ts, buf, { kind, receivedAt: T0 });
  const b = decodeSample(file, buf, { kind, receivedAt: T0 });
  expect(b).toEqual(a);
  return a;
}

describe('a YAML model decodes exactly like the same model in TypeScript', () => {
  it('hydrotek-wl300: same definition, same readings and rejects through the real pipeline', async () => {
    const file = await fileModel('hydrotek-wl300');
    expect(file).not.toBe(hydrotekWl300);
    expect(data(file)).toEqual(data(hydrotekWl300));
    const ok = decodeBoth(
      hydrotekWl300,
      file,
      '{"ts":1767225600,"wl":1234,"rain":0.5,"bat":3612,"rssi":-87}',
    );
    expect(ok.rejects).toEqual([]);
    expect(ok.readings.map((r) => [r.measurement, r.fields])).toEqual([
      ['flood', { water_level_m: 1.234, rain_mm: 0.5, battery_v: 3.612 }],
      ['device', { rssi_dbm: -87 }],
    ]);
    // The edges too: a value out of the metric's range, a non-number, a bad timestamp, no JSON.
    const edges = [
      '{"ts":1767225600,"wl":999999,"rain":"x","bat":3612}',
      '{"ts":"yesterday","wl":1}',
      '{"wl":1751}',
      'not json',
    ];
    for (const p of edges) decodeBoth(hydrotekWl300, file, p);
    expect(decodeBoth(hydrotekWl300, file, edges[0]!).rejects.map((r) => r.reason)).toEqual([
      'out_of_range',
      'wrong_type',
    ]);
  });

  it('sinodust-yc200-hj212: HJ 212 codes, real-time and minute statistics, a full frame with CRC', async () => {
    const file = await fileModel('sinodust-yc200-hj212');
    expect(data(file)).toEqual(data(sinodustYc200Hj212));
    const cp =
      'DataTime=20260101080000;a34004-Rtd=35,a34004-Flag=N;a34002-Rtd=80,a34002-Flag=N;a34001-Rtd=150,a34001-Flag=N;Leq-Rtd=62.5,Leq-Flag=N;a01007-Rtd=3.2,a01007-Flag=D;a01008-Rtd=180,a01008-Flag=N;a01001-Rtd=25.1,a01001-Flag=N;a01002-Rtd=60,a01002-Flag=N;x99999-Rtd=1';
    const rt = decodeBoth(
      sinodustYc200Hj212,
      file,
      `QN=20260101080000000;ST=22;CN=2011;PW=123456;MN=YC1;Flag=5;CP=&&${cp}&&`,
    );
    expect(rt.readings.length).toBe(2); // quality N and D
    expect(rt.readings[0]!.fields).toMatchObject({ pm25_ugm3: 35, noise_dba: 62.5 });
    const stats = decodeBoth(
      sinodustYc200Hj212,
      file,
      'QN=20260101080000000;ST=22;CN=2051;PW=123456;MN=YC1;Flag=5;CP=&&DataTime=20260101080000;a34004-Avg=30,a34004-Min=20,a34004-Max=40,a34004-Flag=N&&',
    );
    expect(stats.readings[0]!.measurement).toBe('dust_agg');
    const frame = buildFrame(`QN=20260101080000000;ST=22;CN=2011;PW=123456;MN=YC1;Flag=5;CP=&&${cp}&&`);
    expect(decodeBoth(sinodustYc200Hj212, file, frame).readings.length).toBe(2);
  });

  it('facepass-fp3: own topics, event map, method map, China-time compact timestamps', async () => {
    const file = await fileModel('facepass-fp3');
    expect(data(file)).toEqual(data(facepassFp3));
    const ev = decodeBoth(
      facepassFp3,
      file,
      '{"time":"20260101080000","event":{"type":"FORCED","reader":"east-gate","verify":"FACE"}}',
      'event' as 'telemetry',
    );
    expect(ev.readings[0]!.tags).toMatchObject({ event: 'door_forced', door: 'east-gate', method: 'face' });
    decodeBoth(
      facepassFp3,
      file,
      '{"time":"20260101080000","event":{"type":"WHAT"}}',
      'event' as 'telemetry',
    );
    decodeBoth(facepassFp3, file, '{"time":"20260101080000","rssi":-65}');
  });

  it('scale, offset and a narrowed range (levelpro-us20 example): 350 cm - distance, in metres', async () => {
    const file = await fileModel('levelpro-us20');
    const ok = decodeSample(
      file,
      Buffer.from('{"d":{"dist":226.6,"v":3.61},"t":"2026-01-01T08:00:00+08:00"}'),
    );
    expect(ok.rejects).toEqual([]);
    expect(ok.readings[0]!.fields).toEqual({ water_level_m: 1.234, battery_v: 3.61 });
    expect(ok.readings[0]!.time).toBe(Date.UTC(2026, 0, 1, 0, 0, 0));
    const low = decodeSample(file, Buffer.from('{"d":{"dist":400}}'));
    expect(low.rejects.map((r) => [r.reason, r.field])).toEqual([['out_of_range', 'water_level_m']]);
    // The same definition in TypeScript is the same model.
    const ts = defineModel({
      id: 'levelpro-us20',
      vendor: 'LevelPro',
      name: 'US-20 ultrasonic water-level gauge',
      family: 'flood',
      format: 'json',
      topics: {
        telemetry: 'sensors/{deviceId}/up',
        event: 'sensors/{deviceId}/event',
        status: 'sensors/{deviceId}/state',
      },
      time: { path: 't', format: 'iso8601' },
      fields: [
        metric('water_level_m', { path: 'd.dist', unit: 'cm', scale: -1, offset: 350, range: [0, 3.5] }),
        metric('battery_v', { path: 'd.v', unit: 'V' }),
      ],
      reportingIntervalS: 600,
      description: 'Distance-to-water in cm from a gauge 350 cm above datum; ISO 8601 timestamps.',
    });
    expect(data(file)).toEqual(data(ts));
    decodeBoth(ts, file, '{"d":{"dist":226.6,"v":3.61},"t":"2026-01-01T08:00:00+08:00"}');
  });
});

describe('model files are validated with every error at once, each with file, line and model id', () => {
  it('reports each problem at its own line, with the checks defineModel makes', () => {
    const text = [
      'id: acme-x1', // 1
      'vendor: Acme',
      'name: X1',
      'family: flood',
      'format: json',
      'time: { path: ts, format: epoch_x }', // 6
      'fields:',
      '  - { metric: water_level_m, path: wl, unit: kg }', // 8
      '  - { metric: rain_mm, path: r, sacle: 2 }', // 9
      '  - { metric: rain_mm, path: r2, scale: 0 }', // 10
      '  - { metric: battery_v, path: b }',
      '  - { metric: battery_v, path: b2 }', // 12
      'reportingIntervalS: 0', // 13
    ].join('\n');
    const { models, errors } = parseModelFiles([{ path: 'site/acme.yaml', text }]);
    expect(models).toEqual([]);
    expect(errors.map((e) => `${e.file}:${e.line} ${e.modelId} ${e.path}`).sort()).toEqual(
      [
        'site/acme.yaml:6 acme-x1 time.format',
        'site/acme.yaml:8 acme-x1 fields.0.unit',
        'site/acme.yaml:9 acme-x1 fields.1',
        'site/acme.yaml:10 acme-x1 fields.2.scale',
        'site/acme.yaml:12 acme-x1 fields.4',
        'site/acme.yaml:13 acme-x1 reportingIntervalS',
      ].sort(),
    );
    expect(errors.find((e) => e.path === 'fields.4')?.message).toBe("metric 'battery_v' is mapped twice");
    // The same mistakes in TypeScript fail with the same messages.
    expect(() => metric('water_level_m', { path: 'wl', unit: 'kg' as 'm' })).toThrow(/unknown unit 'kg'/);
    let details: readonly string[] = [];
    try {
      defineModel({
        id: 'acme-x1',
        vendor: 'Acme',
        name: 'X1',
        family: 'flood',
        format: 'json',
        fields: [metric('battery_v', { path: 'b' }), metric('battery_v', { path: 'b2' })],
        reportingIntervalS: 0,
      });
    } catch (err) {
      details = (err as { details: readonly string[] }).details;
    }
    expect(details).toEqual(
      errors.filter((e) => e.path === 'fields.4' || e.path === 'reportingIntervalS').map((e) => e.message),
    );
  });

  it('a YAML syntax error has its line; one broken file does not hide another file’s errors', () => {
    const { errors } = buildModelSet([
      { path: 'a.yaml', text: 'id: acme-a1\nid: acme-a2\n' }, // a key twice
      {
        path: 'b.yaml',
        text: 'id: acme-b1\nvendor: A\nname: B\nfamily: flood\nformat: xml\nfields: []\nreportingIntervalS: 1\n',
      },
    ]);
    expect(errors.map((e) => `${e.file}:${e.line}`)).toEqual(['a.yaml:2', 'b.yaml:5', 'b.yaml:6']);
  });

  it('ids: two files may not share one; a file may replace a shipped model but not change its family', () => {
    const model = (id: string, family = 'flood', metricName = 'water_level_m') =>
      `id: ${id}\nvendor: A\nname: B\nfamily: ${family}\nformat: json\nfields:\n  - { metric: ${metricName}, path: x }\nreportingIntervalS: 60\n`;
    const r = buildModelSet([
      { path: 'one.yaml', text: model('acme-x1') },
      { path: 'two.yaml', text: `# second\n${model('acme-x1')}` },
      { path: 'wl.yaml', text: model('hydrotek-wl300') },
      { path: 'ds.yaml', text: model('riverwatch-fg2', 'dust', 'pm25_ugm3') },
    ]);
    expect(r.errors.map(formatModelError)).toEqual([
      "ds.yaml:4:9 model riverwatch-fg2 (family): replaces the shipped model 'riverwatch-fg2' (processors/devices/flood/riverwatch-fg2.ts) but changes its family from flood to dust; give the model a new id",
      "two.yaml:2:5 model acme-x1 (id): model id 'acme-x1' is also defined in one.yaml:1",
    ]);
    expect(r.overrides).toEqual([{ id: 'hydrotek-wl300', file: 'wl.yaml' }]);
    expect(r.set.origins.get('hydrotek-wl300')).toEqual({
      kind: 'file',
      file: 'wl.yaml',
      line: 1,
      overrides: 'processors/devices/flood/hydrotek-wl300.ts',
    });
    // The shipped ones stay, in their order; the replacement takes the shipped model's place.
    expect(r.set.models.map((m) => m.id).slice(0, MODELS.length)).toEqual(MODELS.map((m) => m.id));
  });

  it('a topic pattern cannot mean two message kinds across the set', () => {
    const text =
      "id: acme-t1\nvendor: A\nname: B\nfamily: flood\nformat: json\ntopics:\n  telemetry: 'devices/{deviceId}/status'\nfields: [{ metric: rain_mm, path: r }]\nreportingIntervalS: 60\n";
    const r = buildModelSet([{ path: 't.yaml', text }]);
    expect(r.errors.map((e) => `${e.file}:${e.line} ${e.modelId} ${e.path}`)).toEqual([
      't.yaml:7 acme-t1 topics.telemetry',
    ]);
  });

  it('every shipped model file exists where its origin says', async () => {
    const { existsSync } = await import('node:fs');
    const r = buildModelSet([]);
    for (const m of MODELS) {
      const o = r.set.origins.get(m.id)!;
      expect(o.kind).toBe('shipped');
      expect(existsSync(fileURLToPath(new URL(`../../${o.file}`, import.meta.url))), o.file).toBe(true);
    }
  });
});
