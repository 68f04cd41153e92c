import { describe, expect, it } from 'vitest';
import { createJsonDecoder } from '../../processors/decode/json.js';
import type { DeviceModel } from '../../processors/devices/define.js';
import { byMeasurement, context, modelIndex, T0 } from './support.js';

const decode = createJsonDecoder();

function model(id: string): DeviceModel {
  const m = modelIndex.get(id);
  if (!m) throw new Error(`no model ${id}`);
  return m;
}

/** Decodes a vendor payload and returns readings by measurement, asserting no rejects. */
function ok(id: string, payload: unknown, kind: 'telemetry' | 'event' = 'telemetry') {
  const res = decode(context(model(id), JSON.stringify(payload), kind));
  expect(res.rejects).toEqual([]);
  return byMeasurement(res.readings);
}

describe('every model decodes its vendor payload to canonical values and units', () => {
  it('hydrotek-wl300: mm water level, mV battery, epoch seconds', () => {
    const r = ok('hydrotek-wl300', { ts: 1767225600, wl: 1234, rain: 0.5, bat: 3612, rssi: -87 });
    expect(r.flood?.time).toBe(T0);
    expect(r.flood?.fields).toEqual({
      water_level_m: 1.234,
      rain_mm: 0.5,
      battery_v: expect.closeTo(3.612, 9),
    });
    expect(r.device?.fields).toEqual({ rssi_dbm: -87 });
    expect(r.flood?.tags).toMatchObject({
      device: 'hydrotek-wl300-1',
      model: 'hydrotek-wl300',
      family: 'flood',
      district: 'pudong',
      grid: 'g0101',
    });
  });

  it('a converted value is the decimal it stands for, not binary noise beside it', () => {
    // 1751 × 0.001 is 1.7510000000000001 in floating point; the database gets "1.751".
    const r = ok('hydrotek-wl300', { ts: 1767225600, wl: 1751, rain: 0, bat: 3961, rssi: -70 });
    expect(r.flood?.fields).toEqual({ water_level_m: 1.751, rain_mm: 0, battery_v: 3.961 });
    expect(String(r.flood?.fields.water_level_m)).toBe('1.751');
    const air = ok('ecoair-m8', {
      ts: '2026-01-01T00:00:00Z',
      values: { CO: 744.2, T: 283.8, RH: 409 },
      power: { mv: 3816 },
    });
    expect(air.air?.fields).toMatchObject({ co_mgm3: 0.7442, temp_c: 10.65, humidity_pct: 40.9 });
    expect(air.device?.fields.battery_v).toBe(3.816);
  });

  it('riverwatch-fg2: nested data/sys, metres, ISO 8601 with offset', () => {
    const r = ok('riverwatch-fg2', {
      time: '2026-01-01T08:00:00+08:00',
      data: { level: 1.234, rain1h: 2.5 },
      sys: { vbat: 12.1, rssi: -71 },
    });
    expect(r.flood?.time).toBe(T0);
    expect(r.flood?.fields).toEqual({ water_level_m: 1.234, rain_mm: 2.5, battery_v: 12.1 });
    expect(r.device?.fields).toEqual({ rssi_dbm: -71 });
  });

  it('jiangshui-sw10: cm level, 0.1 mm rain, China-time compact timestamp', () => {
    const r = ok('jiangshui-sw10', { DataTime: '20260101080000', SW: 123.4, YL: 25 });
    expect(r.flood?.time).toBe(T0);
    expect(r.flood?.fields.water_level_m).toBeCloseTo(1.234, 9);
    expect(r.flood?.fields.rain_mm).toBeCloseTo(2.5, 9);
    expect(r.device).toBeUndefined();
  });

  it('sinodust-yc200: flat keys, quoted numbers, compact time', () => {
    const r = ok('sinodust-yc200', {
      DataTime: '20260101080000',
      PM25: '35',
      PM10: 80,
      TSP: 150,
      Noise: 62.5,
      WindSpeed: 3.2,
      WindDir: 180,
      Temp: 25.1,
      Humi: 60,
    });
    expect(r.dust?.time).toBe(T0);
    expect(r.dust?.fields).toEqual({
      pm25_ugm3: 35,
      pm10_ugm3: 80,
      tsp_ugm3: 150,
      noise_dba: 62.5,
      wind_speed_ms: 3.2,
      wind_dir_deg: 180,
      temp_c: 25.1,
      humidity_pct: 60,
    });
  });

  it('clearsite-ds7: TSP mg/m3, wind km/h, 77 degF -> 25 C, epoch ms, rssi to device', () => {
    const r = ok('clearsite-ds7', {
      t: T0,
      pm: { p25: 35, p10: 80, tsp: 0.15 },
      env: { db: 62.5, ws: 11.52, wd: 180, tf: 77, rh: 60 },
      rssi: -80,
    });
    const f = r.dust?.fields ?? {};
    expect(r.dust?.time).toBe(T0);
    expect(f.tsp_ugm3).toBeCloseTo(150, 9);
    expect(f.wind_speed_ms).toBeCloseTo(3.2, 9);
    expect(f.temp_c).toBeCloseTo(25, 9);
    expect(f).toMatchObject({
      pm25_ugm3: 35,
      pm10_ugm3: 80,
      noise_dba: 62.5,
      wind_dir_deg: 180,
      humidity_pct: 60,
    });
    expect(Object.keys(f)).toHaveLength(8);
    expect(r.device?.fields).toEqual({ rssi_dbm: -80 });
  });

  it('airbox-aq5: no timestamp -> receive time', () => {
    const r = ok('airbox-aq5', {
      aqi: 72,
      pm25: 35,
      pm10: 80,
      no2: 40,
      so2: 8,
      o3: 90,
      co: 0.8,
      temp: 25,
      hum: 60,
    });
    expect(r.air?.time).toBe(T0);
    expect(r.air?.fields).toEqual({
      aqi: 72,
      pm25_ugm3: 35,
      pm10_ugm3: 80,
      no2_ugm3: 40,
      so2_ugm3: 8,
      o3_ugm3: 90,
      co_mgm3: 0.8,
      temp_c: 25,
      humidity_pct: 60,
    });
  });

  it('ecoair-m8: CO ug/m3 -> mg/m3, kelvin, permille, mV, ISO UTC', () => {
    const r = ok('ecoair-m8', {
      ts: '2026-01-01T00:00:00Z',
      values: { AQI: 72, PM2_5: 35, PM10: 80, NO2: 40, SO2: 8, O3: 90, CO: 800, T: 298.15, RH: 600 },
      power: { mv: 12100 },
    });
    const f = r.air?.fields ?? {};
    expect(r.air?.time).toBe(T0);
    expect(f.co_mgm3).toBeCloseTo(0.8, 9);
    expect(f.temp_c).toBeCloseTo(25, 9);
    expect(f.humidity_pct).toBeCloseTo(60, 9);
    expect(f).toMatchObject({
      aqi: 72,
      pm25_ugm3: 35,
      pm10_ugm3: 80,
      no2_ugm3: 40,
      so2_ugm3: 8,
      o3_ugm3: 90,
    });
    expect(r.device?.fields.battery_v).toBeCloseTo(12.1, 9);
  });

  it('gatekeeper-ac100: numeric event and mode codes -> access point with tags', () => {
    const r = ok(
      'gatekeeper-ac100',
      { ts: 1767225600, code: 1, door: 2, mode: 1, card: '0A1B2C3D' },
      'event',
    );
    expect(r.access).toMatchObject({
      measurement: 'access',
      time: T0,
      fields: { count: 1 },
      tags: { event: 'granted', door: '2', method: 'card', family: 'access', device: 'gatekeeper-ac100-1' },
    });
    expect(r.access?.tags).not.toHaveProperty('card');
    const codes = ['granted', 'denied', 'door_open', 'door_closed', 'door_forced', 'door_held', 'tamper'];
    codes.forEach((event, i) => {
      const e = ok('gatekeeper-ac100', { ts: 1767225600, code: i + 1, door: 1 }, 'event');
      expect(e.access?.tags.event).toBe(event);
      expect(e.access?.tags).not.toHaveProperty('method');
    });
    const hb = ok('gatekeeper-ac100', { ts: 1767225600, bat: 12800 });
    expect(hb.device?.fields.battery_v).toBeCloseTo(12.8, 9);
  });

  it('facepass-fp3: string event types, named reader, compact time', () => {
    const r = ok(
      'facepass-fp3',
      { time: '20260101080000', event: { type: 'FORCED', reader: 'east-gate', verify: 'FACE' } },
      'event',
    );
    expect(r.access).toMatchObject({
      time: T0,
      fields: { count: 1 },
      tags: { event: 'door_forced', door: 'east-gate', method: 'face' },
    });
    const hb = ok('facepass-fp3', { time: '20260101080000', rssi: -65 });
    expect(hb.device?.fields).toEqual({ rssi_dbm: -65 });
  });

  it('every indexed json model is covered above', () => {
    expect(
      modelIndex
        .all()
        .filter((m) => m.format === 'json')
        .map((m) => m.id)
        .sort(),
    ).toEqual(
      [
        'airbox-aq5',
        'clearsite-ds7',
        'ecoair-m8',
        'facepass-fp3',
        'gatekeeper-ac100',
        'hydrotek-wl300',
        'jiangshui-sw10',
        'riverwatch-fg2',
        'sinodust-yc200',
        'rtsp-camera', // test/processors/camera-model.test.ts
      ].sort(),
    );
  });

  it('toVendor inverts toCanonical for every field (the simulators rely on it)', () => {
    for (const m of modelIndex.all()) {
      for (const f of m.fields) {
        const mid = (f.range[0] + f.range[1]) / 2;
        expect(f.toCanonical(f.toVendor(mid))).toBeCloseTo(mid, 6);
      }
    }
  });
});
