import { describe, expect, it } from 'vitest';
import { SilenceStore } from '../../processors/rules/silences.js';
import { SampleWindow } from '../../processors/rules/windows.js';
import { device, engine, MIN, reading, rules, T0 } from './helpers.js';

describe('window functions', () => {
  it('compute exact values over a known series', () => {
    const w = new SampleWindow(15 * MIN, T0);
    // 1..20 at one per minute; at t=19m the 15m window holds minutes 5..19 (values 6..20)
    for (let i = 0; i < 20; i++) w.push(T0 + i * MIN, i + 1);
    const now = T0 + 19 * MIN;
    expect(w.read('count', now)).toBe(15);
    expect(w.read('avg', now)).toBe(13);
    expect(w.read('min', now)).toBe(6);
    expect(w.read('max', now)).toBe(20);
    expect(w.read('sum', now)).toBe(195);
    expect(w.read('delta', now)).toBe(14);
    expect(w.read('rate', now)).toBe(60); // 14 over 14 minutes = 60 per hour
    expect(w.full(now)).toBe(true);
  });

  it('avg(pm10_ugm3, 15m) fires on the average, not on a single spike, and waits for a full window', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: dust.pm10-15m
    name: 扬尘PM10 15分钟均值超标
    condition: "avg(pm10_ugm3, 15m) > 150"
    severity: orange
`),
    );
    const d = device({ id: 'D-1', family: 'dust' });
    e.write(reading(d, T0, { pm10_ugm3: 1000 }), d); // a lone spike on a fresh window: no verdict
    for (let i = 1; i <= 15; i++) e.write(reading(d, T0 + i * MIN, { pm10_ugm3: 100 }), d);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    for (let i = 16; i <= 30; i++) e.write(reading(d, T0 + i * MIN, { pm10_ugm3: 200 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:orange']);
    const ev = sink.events[0]!;
    expect(ev.metric).toBe('pm10_ugm3');
    expect(ev.unit).toBe('ugm3');
    expect(ev.threshold).toBe(150);
    expect(ev.value).toBeGreaterThan(150);
    expect(ev.summary.zh).toContain('PM10 15分钟均值');
  });

  it('rate(water_level_m, 30m) in m/h', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: flood.rise
    name: 水位快速上涨
    condition: "rate(water_level_m, 30m) > 0.3"
    severity: yellow
`),
    );
    const d = device();
    for (let i = 0; i <= 30; i++) e.write(reading(d, T0 + i * MIN, { water_level_m: 1 + i * 0.004 }), d); // 0.24 m/h
    await e.drain();
    expect(sink.events).toHaveLength(0);
    for (let i = 31; i <= 60; i++)
      e.write(reading(d, T0 + i * MIN, { water_level_m: 1.12 + (i - 30) * 0.01 }), d); // 0.6 m/h
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow']);
    expect(sink.events[0]!.unit).toBe('m/h');
  });
});

const ACCESS = `
rules:
  - id: access.forced
    name: 门被强行打开
    selector: { family: access }
    event: "access.event == 'door_forced'"
    by: [door]
    severity: red
  - id: access.held
    name: 门长时间未关
    event: "access.event == 'door_held'"
    clear: "access.event == 'door_closed'"
    by: [door]
    severity: yellow
  - id: access.denied-burst
    name: 连续刷卡失败
    event: "count(denied, 5m) >= 5"
    by: [door]
    severity: orange
    resolveAfter: 10m
`;

describe('event rules', () => {
  const d = device({ id: 'AC-1', family: 'access', attrs: {} });
  const ev = (t: number, event: string, door = 'D1') => reading(d, t, { count: 1 }, { event, door });

  it('door forced fires once per door and resolves after resolveAfter', async () => {
    const { e, sink } = await engine(rules(ACCESS));
    e.write(ev(T0, 'door_forced'), d);
    e.write(ev(T0 + 1000, 'door_forced'), d);
    e.write(ev(T0 + 2000, 'door_forced', 'D2'), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:red', 'alert.firing:red']);
    expect(sink.events[0]!.incidentId).not.toBe(sink.events[1]!.incidentId);
    e.tick(T0 + 6 * MIN);
    await e.drain();
    expect(sink.types().filter((t) => t.startsWith('alert.resolved'))).toHaveLength(2);
  });

  it('door held clears on door_closed', async () => {
    const { e, sink } = await engine(rules(ACCESS));
    e.write(ev(T0, 'door_held'), d);
    e.write(ev(T0 + 1000, 'granted'), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow']);
    e.write(ev(T0 + 2000, 'door_closed'), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow', 'alert.resolved:yellow']);
  });

  it('denied burst: 5 denials at one door within 5 minutes, not 4, not spread over two doors', async () => {
    const { e, sink } = await engine(rules(ACCESS));
    for (let i = 0; i < 4; i++) e.write(ev(T0 + i * 30_000, 'denied'), d);
    e.write(ev(T0 + 130_000, 'denied', 'D2'), d);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    e.write(ev(T0 + 140_000, 'denied'), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:orange']);
    expect(sink.events[0]!.value).toBe(5);
  });
});

describe('no data, correlation, silences, shadow', () => {
  it('deadman: nothing from the device for the duration raises; the next reading resolves', async () => {
    let now = T0;
    const { e, sink } = await engine(
      rules(`
rules:
  - id: device.offline
    name: 设备离线
    nodata: 15m
    severity: blue
`),
      { clock: { now: () => now } },
    );
    const d = device();
    e.write(reading(d, T0, { water_level_m: 1 }), d);
    now = T0 + 14 * MIN;
    e.tick();
    await e.drain();
    expect(sink.events).toHaveLength(0);
    now = T0 + 15 * MIN;
    e.tick();
    e.tick(now + 5000);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:blue']);
    e.write(reading(d, T0 + 20 * MIN, { water_level_m: 1 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:blue', 'alert.resolved:blue']);
  });

  it('correlation: heavy rain at one gauge while the level rises fast at another of the community', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: flood.rain-and-rise
    name: 暴雨且水位快速上涨
    selector: { family: flood }
    correlation:
      scope: community
      window: 10m
      all:
        - when: "sum(rain_mm, 1h) >= 20"
        - when: "rate(water_level_m, 30m) > 0.3"
    severity: orange
`),
    );
    const rain = device({ id: 'RG-1' });
    const level = device({ id: 'WL-2' });
    const elsewhere = device({
      id: 'WL-9',
      location: { district: '鼓楼区', street: '南街街道', community: '别的社区', grid: 'g' },
    });
    for (let i = 0; i <= 60; i++) {
      const t = T0 + i * MIN;
      e.write(reading(rain, t, { rain_mm: i >= 40 ? 1.5 : 0 }), rain);
      e.write(reading(elsewhere, t, { water_level_m: 1 + i * 0.02 }), elsewhere);
      e.write(reading(level, t, { water_level_m: i < 30 ? 1 : 1 + (i - 30) * 0.02 }), level);
    }
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:orange']);
    const ev = sink.events[0]!;
    expect(ev.device).toBeUndefined();
    expect(ev.location).toEqual({ district: '鼓楼区', street: '南街街道', community: '三坊社区', grid: '' });
  });

  it('silences suppress events until they expire; a still-firing incident then notifies once', async () => {
    const silences = new SilenceStore();
    const { e, sink } = await engine(
      rules('rules:\n  - { id: a, name: A, condition: "aqi > 200", severity: red }'),
      { silences },
    );
    await silences.add({
      location: { district: '鼓楼区' },
      startsAt: T0,
      endsAt: T0 + 10 * MIN,
      reason: '设备检修',
    });
    const d = device({ id: 'A-1', family: 'air' });
    e.write(reading(d, T0, { aqi: 250 }), d);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    expect(e.stats.silenced).toBe(1);
    e.tick(T0 + 11 * MIN);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:red']);
    expect(silences.list(T0 + 11 * MIN)).toHaveLength(0);
  });

  it('shadow mode records what it would raise without calling the sink', async () => {
    const { e, sink } = await engine(
      rules('rules:\n  - { id: s, name: S, mode: shadow, condition: "aqi > 200", severity: red }'),
    );
    const d = device({ id: 'A-1', family: 'air' });
    e.write(reading(d, T0, { aqi: 250 }), d);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    expect(e.shadowEvents.map((x) => [x.type, x.shadow])).toEqual([['alert.firing', true]]);
  });
});

describe('correlation across a restart', () => {
  it('an open correlation incident does not resolve just because the engine restarted', async () => {
    const { MemoryIncidentStore } = await import('../../processors/rules/store.js');
    const CORR = rules(`
rules:
  - id: corr
    name: 暴雨且水位高
    correlation:
      scope: community
      window: 10m
      all: [ { when: "rain_mm > 10" }, { when: "water_level_m > 2" } ]
    severity: orange
`);
    const store = new MemoryIncidentStore();
    const rain = device({ id: 'RG-1' });
    const level = device({ id: 'WL-2' });
    const a = await engine(CORR, { store });
    a.e.write(reading(rain, T0, { rain_mm: 15 }), rain);
    a.e.write(reading(level, T0, { water_level_m: 2.5 }), level);
    await a.e.drain();
    expect(a.sink.types()).toEqual(['alert.firing:orange']);
    await a.e.stop();
    const b = await engine(CORR, { store });
    b.e.write(reading(level, T0 + MIN, { water_level_m: 2.5 }), level); // rain gauge not heard from yet
    await b.e.drain();
    expect(b.sink.events).toHaveLength(0);
    for (let i = 2; i <= 12; i++) b.e.write(reading(rain, T0 + i * MIN, { rain_mm: 0 }), rain);
    await b.e.drain();
    expect(b.sink.types()).toEqual(['alert.resolved:orange']);
  });
});
