import { describe, expect, it } from 'vitest';
import { decoders } from '../../processors/decode/index.js';
import { type DeviceModel, defineModel, metric } from '../../processors/devices/define.js';
import { MODELS } from '../../processors/devices/index.js';
import { baseTags } from '../../processors/tags.js';
import { parseDeviceTime } from '../../processors/time.js';
import type { Device } from '../../processors/types.js';
import {
  type CanonicalValues,
  encodeEvent,
  encodeTelemetry,
  toBuffer,
  topicFor,
  vendorDecimals,
  vendorValue,
} from '../../simulators/encode.js';

const AT = Date.UTC(2026, 0, 1, 0, 0, 0); // 08:00 China time

const CANONICAL: CanonicalValues = {
  water_level_m: 2.3456,
  rain_mm: 3.27,
  battery_v: 3.8123,
  rssi_dbm: -81.4,
  pm25_ugm3: 41.37,
  pm10_ugm3: 88.12,
  tsp_ugm3: 176.4,
  noise_dba: 71.26,
  wind_speed_ms: 3.14,
  wind_dir_deg: 211.6,
  temp_c: 17.33,
  humidity_pct: 55.55,
  aqi: 73,
  no2_ugm3: 38.2,
  so2_ugm3: 9.71,
  o3_ugm3: 101.3,
  co_mgm3: 0.87,
};

function get(obj: unknown, path: readonly string[]): unknown {
  let node = obj;
  for (const k of path) node = (node as Record<string, unknown> | undefined)?.[k];
  return node;
}

// Cameras are measured by the gateway over RTSP, never encoded by an MQTT simulator.
const jsonModels = MODELS.filter((m) => m.format === 'json' && m.family !== 'camera');

describe('encodeTelemetry', () => {
  it('has JSON models of every family to encode', () => {
    expect(new Set(jsonModels.map((m) => m.family))).toEqual(new Set(['flood', 'dust', 'air', 'access']));
  });

  for (const model of jsonModels) {
    it(`${model.id}: vendor fields round-trip through toCanonical within the vendor's rounding`, () => {
      const payload = encodeTelemetry(model, CANONICAL, AT);
      for (const f of model.fields) {
        const raw = get(payload, f.path);
        expect(typeof raw, `${model.id} ${f.path.join('.')}`).toBe('number');
        const lsb = 10 ** -vendorDecimals(f);
        const tol = Math.abs(f.toCanonical(lsb) - f.toCanonical(0)) / 2 + 1e-9;
        const want = CANONICAL[f.metric] as number;
        expect(Math.abs(f.toCanonical(raw as number) - want), `${f.metric}`).toBeLessThanOrEqual(tol);
      }
      if (model.time) {
        const t = parseDeviceTime(get(payload, model.time.path.split('.')), model.time.format);
        expect(t).toBeDefined();
        // epoch_s and local_compact resolve to the second.
        expect(Math.abs((t as number) - AT)).toBeLessThan(1000);
      } else {
        expect(Object.keys(payload).sort()).toEqual([...new Set(model.fields.map((f) => f.path[0]))].sort());
      }
    });
  }
});

const local: DeviceModel = defineModel({
  id: 'testco-x1',
  vendor: 'TestCo',
  name: 'X1',
  family: 'flood',
  format: 'json',
  topics: { telemetry: 'testco/{deviceId}/up' },
  time: { path: 'meta.time', format: 'local_compact' },
  fields: [
    metric('water_level_m', { path: 'd.wl', unit: 'mm' }),
    metric('battery_v', { path: 'd.bat', unit: 'mV' }),
    metric('rain_mm', { path: 'd.r', unit: 'mm' }),
    metric('temp_c', { path: 't', unit: 'degF' }),
  ],
  reportingIntervalS: 60,
});

describe('vendor shape', () => {
  it('nests paths, rounds mm and mV to integers, converts units and stamps China-time compact time', () => {
    const p = encodeTelemetry(
      local,
      { water_level_m: 1.23456, battery_v: 3.71234, rain_mm: 0.26, temp_c: 20 },
      AT,
    );
    expect(p).toEqual({ meta: { time: '20260101080000' }, d: { wl: 1235, bat: 3712, r: 0.3 }, t: 68 });
  });

  it('leaves out metrics the model does not map and values that are not finite', () => {
    const p = encodeTelemetry(local, { water_level_m: Number.NaN, pm10_ugm3: 50 }, AT);
    expect(p).toEqual({ meta: { time: '20260101080000' } });
  });

  it('applies scale: a scaled register is an integer', () => {
    const f = metric('water_level_m', { path: 'wl', unit: 'm', scale: 0.01 });
    expect(vendorDecimals(f)).toBe(0);
    expect(vendorValue(f, 1.234)).toBe(123);
    expect(f.toCanonical(vendorValue(f, 1.234))).toBeCloseTo(1.23, 9);
  });

  it('builds topics from the model pattern', () => {
    expect(topicFor(local, 'telemetry', 'flood-0001')).toBe('testco/flood-0001/up');
    expect(topicFor(local, 'status', 'flood-0001')).toBe('devices/flood-0001/status');
  });
});

describe('encodeEvent', () => {
  const access = jsonModels.filter((m) => m.family === 'access');
  for (const model of access) {
    it(`${model.id}: vendor codes map back to the canonical event, door and method`, () => {
      const ev = model.event!;
      for (const event of new Set(Object.values(ev.map))) {
        const p = encodeEvent(model, { event, door: '2', method: 'face' }, AT);
        expect(ev.map[String(get(p, ev.path.split('.')))]).toBe(event);
        if (ev.door) expect(String(get(p, ev.door.split('.')))).toBe('2');
        if (ev.method) expect(ev.method.map[String(get(p, ev.method.path.split('.')))]).toBe('face');
        if (model.time) {
          const t = parseDeviceTime(get(p, model.time.path.split('.')), model.time.format);
          expect(Math.abs((t as number) - AT)).toBeLessThan(1000);
        }
      }
    });
  }

  it('refuses an event the vendor cannot express', () => {
    const m = defineModel({
      id: 'testco-door1',
      vendor: 'TestCo',
      name: 'Door',
      family: 'access',
      format: 'json',
      fields: [],
      event: { path: 'ev', map: { '1': 'granted' } },
      reportingIntervalS: 60,
    });
    expect(encodeEvent(m, { event: 'granted' }, AT)).toEqual({ ev: 1 });
    expect(() => encodeEvent(m, { event: 'door_forced' }, AT)).toThrow(/no vendor code/);
  });
});

describe("through the gateway's own JSON decoder", () => {
  const device = (model: DeviceModel): Device => ({
    id: `${model.family}-0001`,
    model: model.id,
    family: model.family,
    location: { district: '鼓楼区', street: '相国寺街道', community: '包公湖社区', grid: '第1网格' },
    state: 'active',
    attrs: {},
    labels: {},
    cameras: [],
  });
  const decode = (model: DeviceModel, kind: 'telemetry' | 'event', payload: Buffer) => {
    const d = device(model);
    return decoders.json({
      msg: {
        transport: 'mqtt',
        kind,
        deviceId: d.id,
        topic: topicFor(model, kind, d.id),
        payload,
        receivedAt: AT + 5000,
      },
      device: d,
      model,
      tags: baseTags(d),
    });
  };

  for (const model of jsonModels) {
    it(`${model.id}: telemetry decodes back to the canonical values, at the device's time`, () => {
      const r = decode(model, 'telemetry', toBuffer(encodeTelemetry(model, CANONICAL, AT)));
      expect(r.rejects).toEqual([]);
      const got: Record<string, number> = Object.assign({}, ...r.readings.map((x) => x.fields));
      expect(Object.keys(got).sort()).toEqual(model.fields.map((f) => f.metric).sort());
      for (const f of model.fields) {
        const lsb = 10 ** -vendorDecimals(f);
        const tol = Math.abs(f.toCanonical(lsb) - f.toCanonical(0)) / 2 + 1e-9;
        expect(
          Math.abs((got[f.metric] as number) - (CANONICAL[f.metric] as number)),
          f.metric,
        ).toBeLessThanOrEqual(tol);
      }
      for (const x of r.readings) expect(x.time).toBe(model.time ? AT : AT + 5000);
    });
  }

  for (const model of jsonModels.filter((m) => m.family === 'access')) {
    it(`${model.id}: every event decodes to its canonical event, door and method tags`, () => {
      for (const event of new Set(Object.values(model.event?.map ?? {}))) {
        const r = decode(
          model,
          'event',
          toBuffer(encodeEvent(model, { event, door: '2', method: 'card' }, AT)),
        );
        expect(r.rejects).toEqual([]);
        const access = r.readings.find((x) => x.measurement === 'access');
        expect(access?.tags).toMatchObject({ event, door: '2', method: 'card' });
        expect(access?.fields).toEqual({ count: 1 });
      }
    });
  }
});
