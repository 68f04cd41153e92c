import { describe, expect, it } from 'vitest';
import { device, engine, MIN, reading, rules, T0 } from './helpers.js';

const LEVELS = `
rules:
  - id: flood.level
    name: 水位超警戒
    selector: { family: flood }
    condition:
      levels:
        - { severity: yellow, when: "water_level_m >= 2.5" }
        - { severity: orange, when: "water_level_m >= device.attrs.danger_level_m" }
        - { severity: red, when: "water_level_m >= 3.5" }
    clear: "water_level_m < 2.4"
`;

describe('incident lifecycle', () => {
  it('hysteresis: a noisy signal around the threshold raises one incident and one resolve', async () => {
    const { e, sink } = await engine(rules(LEVELS));
    const d = device();
    // 2.45..2.55 noise around 2.5 for an hour, then a clear drop.
    for (let i = 0; i < 60; i++) e.write(reading(d, T0 + i * MIN, { water_level_m: i % 2 ? 2.45 : 2.55 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow']);
    e.write(reading(d, T0 + 61 * MIN, { water_level_m: 2.3 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow', 'alert.resolved:yellow']);
    const [f, r] = sink.events;
    expect(f!.incidentId).toBe(r!.incidentId);
    expect(f!.id).not.toBe(r!.id);
    expect(r!.resolvedAt).toBe(new Date(T0 + 61 * MIN).toISOString());
  });

  it('multi-level escalation: a rising value escalates the open incident, never opens a second', async () => {
    const { e, sink } = await engine(rules(LEVELS));
    const d = device();
    const levels = [2.6, 2.8, 3.05, 3.2, 3.6, 3.1, 2.7];
    levels.forEach((v, i) => {
      e.write(reading(d, T0 + i * MIN, { water_level_m: v }), d);
    });
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow', 'alert.escalated:orange', 'alert.escalated:red']);
    const esc = sink.events[1]!;
    expect(esc.previousSeverity).toBe('yellow');
    expect(esc.reason).toBe('severity_rose');
    expect(esc.threshold).toBe(3.0);
    expect(esc.value).toBe(3.05);
    expect(esc.summary.zh).toBe('鼓楼区 南街街道 三坊社区 水位计 WL-001 水位 3.05 m ≥ 3 m（橙色预警）');
    expect(esc.summary.en).toBe('Water level 3.05 m ≥ 3 m at WL-001 (orange)');
    expect(new Set(sink.events.map((x) => x.incidentId)).size).toBe(1);
    expect(e.listIncidents({ open: true })[0]!.severity).toBe('red');
  });

  it('`for` holds a condition pending; a blip shorter than `for` raises nothing', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: dust.pm10
    name: PM10
    selector: { family: dust }
    condition: "pm10_ugm3 > 150"
    severity: orange
    for: 5m
`),
    );
    const d = device({ id: 'D-1', family: 'dust' });
    for (let i = 0; i < 4; i++) e.write(reading(d, T0 + i * MIN, { pm10_ugm3: 200 }), d);
    e.write(reading(d, T0 + 4 * MIN, { pm10_ugm3: 100 }), d);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    for (let i = 10; i <= 15; i++) e.write(reading(d, T0 + i * MIN, { pm10_ugm3: 200 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:orange']);
    expect(sink.events[0]!.startedAt).toBe(new Date(T0 + 10 * MIN).toISOString());
    expect(sink.events[0]!.at).toBe(new Date(T0 + 15 * MIN).toISOString());
  });

  it('flap damping: an incident flipping N times in the window stays open until quiet', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: dust.pm10
    name: PM10
    condition: "pm10_ugm3 > 150"
    severity: yellow
    flap: { count: 3, window: 30m }
`),
    );
    const d = device({ id: 'D-1', family: 'dust' });
    // on/off every minute for 20 minutes
    for (let i = 0; i < 20; i++) e.write(reading(d, T0 + i * MIN, { pm10_ugm3: i % 2 ? 100 : 200 }), d);
    await e.drain();
    const firings = sink.events.filter((x) => x.type === 'alert.firing').length;
    expect(firings).toBeLessThanOrEqual(3);
    expect(e.listIncidents({ open: true })).toHaveLength(1);
    e.tick(T0 + 40 * MIN); // last clear at 19m: not yet quiet for the 30m flap window
    expect(e.listIncidents({ open: true })).toHaveLength(1);
    e.tick(T0 + 50 * MIN);
    await e.drain();
    expect(sink.events.at(-1)!.type).toBe('alert.resolved');
    expect(e.listIncidents({ open: true })).toHaveLength(0);
  });

  it('keepFiringFor delays the resolve; reminders repeat while firing', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: air.aqi
    name: AQI
    condition: "aqi > 200"
    severity: red
    keepFiringFor: 10m
    repeatInterval: 30m
`),
    );
    const d = device({ id: 'A-1', family: 'air' });
    e.write(reading(d, T0, { aqi: 250 }), d);
    e.tick(T0 + 31 * MIN);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:red', 'alert.reminder:red']);
    e.write(reading(d, T0 + 32 * MIN, { aqi: 100 }), d);
    e.tick(T0 + 35 * MIN);
    await e.drain();
    expect(sink.events).toHaveLength(2);
    e.tick(T0 + 42 * MIN);
    await e.drain();
    expect(sink.types().at(-1)).toBe('alert.resolved:red');
    const ids = sink.events.map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('quality flags other than N and devices in maintenance raise nothing', async () => {
    const { e, sink } = await engine(rules(LEVELS));
    const d = device();
    e.write(reading(d, T0, { water_level_m: 9 }, { quality: 'M' }), d);
    const m = device({ state: 'maintenance' });
    e.write(reading(m, T0, { water_level_m: 9 }), m);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    expect(e.stats.skippedQuality).toBe(1);
    expect(e.stats.skippedMaintenance).toBe(1);
  });

  it('commissioning devices go to the installer sink, not dispatch', async () => {
    const installer = new (await import('./helpers.js')).RecordingSink();
    const { e, sink } = await engine(rules(LEVELS), { installerSink: installer });
    const d = device({ state: 'commissioning' });
    e.write(reading(d, T0, { water_level_m: 2.7 }), d);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    expect(installer.types()).toEqual(['alert.firing:yellow']);
  });

  it('replaying the same readings yields the same incident and event ids', async () => {
    const run = async () => {
      const { e, sink } = await engine(rules(LEVELS));
      const d = device();
      [2.6, 3.1, 2.0].forEach((v, i) => {
        e.write(reading(d, T0 + i * MIN, { water_level_m: v }), d);
      });
      await e.drain();
      return sink.events.map((x) => x.id);
    };
    const a = await run();
    expect(a).toHaveLength(3);
    expect(await run()).toEqual(a);
  });
});
