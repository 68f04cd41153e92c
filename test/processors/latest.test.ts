import { describe, expect, it } from 'vitest';
import { LatestReadings } from '../../processors/latest.js';
import type { Device, Reading } from '../../processors/types.js';

const dust: Device = {
  id: 'DS-1',
  model: 'clearsite-ds7',
  family: 'dust',
  location: { district: '鼓楼区', street: '南街街道', community: '三坊社区', grid: '网格01' },
  state: 'active',
  attrs: {},
  labels: {},
  cameras: [],
  calibration: {},
};
const reading = (measurement: string, time: number, fields: Record<string, number>, tags = {}): Reading => ({
  device: dust.id,
  measurement: measurement as Reading['measurement'],
  time,
  fields,
  tags: { device: dust.id, ...tags },
});

describe('LatestReadings', () => {
  it('keeps the newest value of every metric across measurements and partial readings', () => {
    const latest = new LatestReadings(() => 42);
    latest.write(reading('dust', 1000, { pm10_ugm3: 90, pm25_ugm3: 40 }), dust, 5000);
    latest.write(reading('weather', 1000, { temp_c: 20, humidity_pct: 50 }), dust, 5001);
    latest.write(reading('dust', 2000, { pm25_ugm3: 45 }), dust, 5002); // partial: pm10 stays
    latest.write(reading('dust', 1500, { pm10_ugm3: 1, pm25_ugm3: 2 }), dust, 5003); // late: older values lose
    latest.write(reading('weather', 3000, { humidity_pct: 55, temp_c: 21 }), dust); // other order; clock
    expect(latest.get('DS-1')).toEqual({
      device: 'DS-1',
      family: 'dust',
      model: 'clearsite-ds7',
      time: 3000,
      seenAt: 42,
      values: {
        pm10_ugm3: { value: 1, time: 1500 },
        pm25_ugm3: { value: 45, time: 2000 },
        temp_c: { value: 21, time: 3000 },
        humidity_pct: { value: 55, time: 3000 },
      },
    });
    expect(Object.keys(latest.get('DS-1')!.values)).toEqual([
      'pm10_ugm3',
      'pm25_ugm3',
      'temp_c',
      'humidity_pct',
    ]);
  });

  it('tracks online from the connectivity metric and access events apart from values', () => {
    const latest = new LatestReadings(() => 0);
    latest.write(reading('status', 10, { online: 1 }), dust, 10);
    expect(latest.get('DS-1')?.online).toBe(true);
    latest.write(reading('status', 20, { online: 0 }), dust, 20);
    expect(latest.get('DS-1')?.online).toBe(false);
    latest.write(reading('access', 30, { count: 1 }, { event: 'granted', door: '2' }), dust, 30);
    latest.write(reading('access', 40, { count: 1 }, { event: 'granted', door: '1' }), dust, 40);
    const e = latest.get('DS-1')!;
    expect(e.lastEvent).toEqual({ event: 'granted', door: '1', time: 40 });
    expect(e.values).toEqual({ online: { value: 0, time: 20 } });
    expect(latest.eventCounts).toEqual({ granted: 2 });
    expect([...latest.all()].map((x) => x.device)).toEqual(['DS-1']);
    expect(latest.size).toBe(1);
    expect(latest.get('nope')).toBeUndefined();
  });
});
