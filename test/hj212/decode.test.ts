import { describe, expect, it } from 'vitest';
import { decodeHj212 } from '../../processors/decode/hj212.js';
import type { DecodeContext } from '../../processors/decode/types.js';
import airModel from '../../processors/devices/air/airsense-ms100-hj212.js';
import type { DeviceModel } from '../../processors/devices/define.js';
import dustModel from '../../processors/devices/dust/sinodust-yc200-hj212.js';
import { buildFrame } from '../../processors/hj212/frame.js';
import { baseTags } from '../../processors/tags.js';
import type { Device } from '../../processors/types.js';
import { PUBLISHED } from './published.js';

const RECEIVED = Date.UTC(2026, 0, 1, 0, 5, 0);

function device(model: DeviceModel): Device {
  return {
    id: `dev-${model.family}`,
    model: model.id,
    family: model.family,
    location: { district: 'd', street: 's', community: 'c', grid: 'g' },
    state: 'active',
    attrs: {},
    labels: {},
    cameras: [],
  };
}

function ctx(model: DeviceModel, payload: string | Buffer): DecodeContext {
  const dev = device(model);
  return {
    msg: {
      transport: 'hj212',
      kind: 'telemetry',
      deviceId: dev.id,
      topic: 'hj212/X/2011',
      payload: typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload,
      receivedAt: RECEIVED,
    },
    device: dev,
    model,
    tags: baseTags(dev),
  };
}

const HDR = 'QN=20260101080000000;ST=22;PW=123456;MN=YC1;Flag=5;';

describe('decodeHj212', () => {
  it('turns 2011 real-time data into the family measurement, grouped by quality flag, at DataTime (UTC+8)', () => {
    const r = decodeHj212(
      ctx(
        dustModel,
        `${HDR}CN=2011;CP=&&DataTime=20260101080000;a34002-Rtd=80,a34002-Flag=N;a34004-Rtd=35.5,a34004-Flag=N;LA-Rtd=62.5,LA-Flag=M;a01001-Rtd=-3.5,a01001-Flag=N&&`,
      ),
    );
    expect(r.rejects).toEqual([]);
    expect(r.readings).toHaveLength(2);
    const normal = r.readings.find((x) => x.tags.quality === 'N');
    const maint = r.readings.find((x) => x.tags.quality === 'M');
    expect(normal).toMatchObject({
      device: 'dev-dust',
      measurement: 'dust',
      time: Date.UTC(2026, 0, 1, 0, 0, 0), // 08:00 China time
      fields: { pm10_ugm3: 80, pm25_ugm3: 35.5, temp_c: -3.5 },
    });
    expect(normal?.tags).toMatchObject({
      device: 'dev-dust',
      model: 'sinodust-yc200-hj212',
      family: 'dust',
      grid: 'g',
    });
    expect(normal?.tags.agg).toBeUndefined();
    expect(maint).toMatchObject({ measurement: 'dust', fields: { noise_dba: 62.5 } });
  });

  it('accepts a whole frame as payload and the Leq alias for noise', () => {
    const frame = buildFrame(`${HDR}CN=2011;CP=&&DataTime=20260101080000;Leq-Rtd=70.1,Leq-Flag=N&&`);
    const r = decodeHj212(ctx(dustModel, frame));
    expect(r.rejects).toEqual([]);
    expect(r.readings[0]?.fields).toEqual({ noise_dba: 70.1 });
  });

  it('rejects a whole frame with a bad CRC', () => {
    const frame = buildFrame(`${HDR}CN=2011;CP=&&DataTime=20260101080000;a34002-Rtd=80&&`);
    frame[frame.length - 3] = frame[frame.length - 3] === 0x30 ? 0x31 : 0x30;
    expect(decodeHj212(ctx(dustModel, frame)).rejects[0]?.reason).toBe('bad_crc');
  });

  it.each([
    ['2051', 'minute'],
    ['2061', 'hour'],
    ['2031', 'day'],
  ])('puts CN %s statistics in <family>_agg with agg and period=%s', (cn, period) => {
    const r = decodeHj212(
      ctx(
        airModel,
        `${HDR}CN=${cn};CP=&&DataTime=20260101070000;a34004-Avg=40.5,a34004-Min=30,a34004-Max=52,a34004-Flag=N;a21005-Avg=0.8,a21005-Min=0.5,a21005-Max=1.1,a21005-Flag=N&&`,
      ),
    );
    expect(r.rejects).toEqual([]);
    expect(r.readings).toHaveLength(3);
    const byAgg = Object.fromEntries(r.readings.map((x) => [x.tags.agg, x]));
    for (const x of r.readings) {
      expect(x.measurement).toBe('air_agg');
      expect(x.tags.period).toBe(period);
      expect(x.tags.quality).toBe('N');
      expect(x.time).toBe(Date.UTC(2025, 11, 31, 23, 0, 0));
    }
    expect(byAgg.avg?.fields).toEqual({ pm25_ugm3: 40.5, co_mgm3: 0.8 });
    expect(byAgg.min?.fields).toEqual({ pm25_ugm3: 30, co_mgm3: 0.5 });
    expect(byAgg.max?.fields).toEqual({ pm25_ugm3: 52, co_mgm3: 1.1 });
  });

  it('ignores Rtd in statistics and statistics in real-time data', () => {
    const r = decodeHj212(
      ctx(airModel, `${HDR}CN=2011;CP=&&DataTime=20260101080000;a34004-Avg=40,a34004-Rtd=41&&`),
    );
    expect(r.readings).toHaveLength(1);
    expect(r.readings[0]?.fields).toEqual({ pm25_ugm3: 41 });
  });

  it('maps an unknown flag letter to quality=unknown', () => {
    const r = decodeHj212(ctx(dustModel, `${HDR}CN=2011;CP=&&a34002-Rtd=80,a34002-Flag=Z&&`));
    expect(r.readings[0]?.tags.quality).toBe('unknown');
    expect(r.readings[0]?.time).toBe(RECEIVED); // no DataTime: receive time
  });

  it('rejects values out of range and of the wrong type per field, keeping the rest', () => {
    const r = decodeHj212(
      ctx(
        dustModel,
        `${HDR}CN=2011;CP=&&DataTime=20260101080000;a34002-Rtd=99999,a34002-Flag=N;a34004-Rtd=abc;a01002-Rtd=55&&`,
      ),
    );
    expect(r.rejects.map((x) => [x.reason, x.field])).toEqual([
      ['out_of_range', 'pm10_ugm3'],
      ['wrong_type', 'pm25_ugm3'],
    ]);
    expect(r.readings.map((x) => x.fields)).toEqual([{ humidity_pct: 55 }]);
  });

  it('counts unknown codes in one reject and leaves known unmapped codes out quietly', () => {
    const r = decodeHj212(
      ctx(
        dustModel,
        `${HDR}CN=2011;CP=&&DataTime=20260101080000;a34002-Rtd=80;a01006-Rtd=101.2;zz999-Rtd=1;qq001-Rtd=2&&`,
      ),
    );
    expect(r.readings[0]?.fields).toEqual({ pm10_ugm3: 80 });
    expect(r.rejects).toHaveLength(1);
    expect(r.rejects[0]).toMatchObject({ reason: 'unknown_code', field: 'zz999,qq001' });
    expect(r.rejects[0]?.detail).toMatch(/zz999, qq001 not in model/);
  });

  it('rejects a bad DataTime, a malformed segment, a non-data CN, and a frame with nothing usable', () => {
    expect(
      decodeHj212(ctx(dustModel, `${HDR}CN=2011;CP=&&DataTime=20261301080000;a34002-Rtd=80&&`)).rejects[0]
        ?.reason,
    ).toBe('bad_timestamp');
    expect(decodeHj212(ctx(dustModel, 'garbage')).rejects[0]?.reason).toBe('malformed');
    expect(decodeHj212(ctx(dustModel, `${HDR}CN=9021;CP=&&&&`)).rejects[0]?.reason).toBe('no_readings');
    expect(
      decodeHj212(ctx(dustModel, `${HDR}CN=2011;CP=&&DataTime=20260101080000;a01006-Rtd=101&&`)).rejects[0]
        ?.reason,
    ).toBe('no_readings');
  });

  it('decodes the published air-quality frame with the air model', () => {
    const f = PUBLISHED[1]!.frame;
    const r = decodeHj212(ctx(airModel, f));
    const fields = Object.assign({}, ...r.readings.map((x) => x.fields));
    expect(fields).toEqual({
      pm10_ugm3: 5,
      pm25_ugm3: 4,
      so2_ugm3: 22.25,
      no2_ugm3: 22.7,
      co_mgm3: 0.36,
      o3_ugm3: 8.82,
    });
    // l01001/l01002 (longitude/latitude in that vendor's firmware) are not in the code table
    expect(r.rejects.map((x) => x.field)).toEqual(['l01001,l01002']);
    expect(r.readings[0]?.time).toBe(Date.UTC(2022, 8, 28, 6, 28, 12));
  });
});
