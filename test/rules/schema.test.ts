import { describe, expect, it } from 'vitest';
import { validateAlertEvent } from '../../processors/alerts/validate.js';
import { device, engine, MIN, reading, rules, T0 } from './helpers.js';

describe('events the engine raises', () => {
  it('validate against the published gridgate.alert/v1 schema, for every rule kind and event type', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: flood.level
    name: 水位超警戒
    condition:
      levels:
        - { severity: yellow, when: "water_level_m >= device.attrs.warning_level_m" }
        - { severity: red, when: "water_level_m >= device.attrs.danger_level_m" }
    repeatInterval: 10m
  - id: access.forced
    name: 门被强行打开
    event: "access.event == 'door_forced'"
    by: [door]
    severity: red
  - { id: offline, name: 设备离线, selector: { family: dust }, nodata: 15m, severity: blue }
  - id: corr
    name: 暴雨且水位上涨
    selector: { family: flood }
    correlation:
      scope: community
      window: 10m
      all: [ { when: "rain_mm > 10" }, { when: "water_level_m > 2" } ]
    severity: orange
`),
    );
    const wl = device({ lat: 26.08, lon: 119.3 });
    const ac = device({ id: 'AC-1', family: 'access', attrs: {} });
    const dust = device({ id: 'D-1', family: 'dust' });
    e.write(reading(dust, T0, { pm10_ugm3: 50 }), dust);
    e.write(reading(wl, T0, { water_level_m: 2.6, rain_mm: 12 }), wl);
    e.write(reading(wl, T0 + MIN, { water_level_m: 3.2, rain_mm: 12 }), wl);
    e.write(reading(ac, T0 + MIN, { count: 1 }, { event: 'door_forced', door: 'D1' }), ac);
    e.tick(T0 + 16 * MIN);
    e.write(reading(wl, T0 + 17 * MIN, { water_level_m: 1, rain_mm: 0 }), wl);
    e.write(reading(dust, T0 + 18 * MIN, { pm10_ugm3: 50 }), dust);
    await e.drain();
    const types = new Set(sink.events.map((x) => x.type));
    expect([...types].sort()).toEqual([
      'alert.escalated',
      'alert.firing',
      'alert.reminder',
      'alert.resolved',
    ]);
    expect(new Set(sink.events.map((x) => x.rule.id)).size).toBe(4);
    for (const ev of sink.events) expect(validateAlertEvent(ev)).toEqual({ ok: true, event: ev });
    const forced = sink.events.find((x) => x.rule.id === 'access.forced')!;
    expect(forced.summary.zh).toBe('鼓楼区 南街街道 三坊社区 门禁 AC-1 门D1 门被强行打开（红色预警）');
    const offline = sink.events.find((x) => x.rule.id === 'offline')!;
    expect(offline.summary.en).toBe('No data for 16 min at D-1 (blue)');
  });
});
