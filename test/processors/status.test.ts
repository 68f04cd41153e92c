import { describe, expect, it } from 'vitest';
import type { DeviceModel } from '../../processors/devices/define.js';
import { connectivityReading, decodeStatus } from '../../processors/status.js';
import { context, device, modelIndex, T0 } from './support.js';

const wl300 = modelIndex.get('hydrotek-wl300') as DeviceModel;
const aq5 = modelIndex.get('airbox-aq5') as DeviceModel;

function run(model: DeviceModel, payload: string | Buffer) {
  return decodeStatus(context(model, payload, 'status'), 32);
}

describe('status messages', () => {
  it.each([
    ['online', 1],
    ['offline', 0],
    ['OFFLINE\n', 0],
    ['1', 1],
    ['0', 0],
    ['true', 1],
  ])('plain %j -> online=%i', (payload, online) => {
    const res = run(aq5, payload);
    expect(res.rejects).toEqual([]);
    expect(res.readings).toEqual([
      expect.objectContaining({ measurement: 'device', time: T0, fields: { online } }),
    ]);
  });

  it('JSON with canonical or short names', () => {
    const res = run(aq5, '{"online":true,"battery":3.6,"rssi":-71}');
    expect(res.readings[0]?.fields).toEqual({ online: 1, battery_v: 3.6, rssi_dbm: -71 });
    expect(run(aq5, '{"status":"offline","battery_v":3.3}').readings[0]?.fields).toEqual({
      online: 0,
      battery_v: 3.3,
    });
  });

  it("uses the model's own mapping (mV battery, epoch-second time) where it has one", () => {
    const res = run(wl300, '{"ts":1767225000,"online":1,"bat":3612}');
    expect(res.readings[0]?.time).toBe(T0 - 600_000);
    expect(res.readings[0]?.fields.battery_v).toBeCloseTo(3.612, 9);
    expect(res.readings[0]?.measurement).toBe('device');
  });

  it('rejects what it cannot use', () => {
    expect(run(aq5, 'maybe').rejects[0]?.reason).toBe('malformed');
    expect(run(aq5, '{"foo":1}').rejects[0]?.reason).toBe('no_readings');
    expect(run(aq5, '{"online":"sometimes"}').rejects[0]).toMatchObject({
      reason: 'wrong_type',
      field: 'online',
    });
    expect(run(aq5, '{"online":2}').rejects[0]).toMatchObject({ reason: 'out_of_range', field: 'online' });
    expect(run(aq5, Buffer.from([0xff])).rejects[0]?.reason).toBe('invalid_utf8');
  });

  it('connectivityReading for broker connect/disconnect', () => {
    const d = device('aq-1', 'airbox-aq5');
    expect(connectivityReading(d, false, T0)).toEqual({
      device: 'aq-1',
      measurement: 'device',
      time: T0,
      fields: { online: 0 },
      tags: {
        device: 'aq-1',
        model: 'airbox-aq5',
        family: 'air',
        district: 'pudong',
        street: 'zhangjiang',
        community: 'c01',
        grid: 'g0101',
      },
    });
  });
});
