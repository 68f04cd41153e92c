import { describe, expect, it } from 'vitest';
import type { Reading } from '../../processors/types.js';
import { device, engine, MIN, rules, T0 } from './helpers.js';

/** A reading of another measurement than the device's family (`device`: battery, signal). */
function health(id: string, time: number, fields: Record<string, number>): Reading {
  return { device: id, measurement: 'device', time, fields, tags: { device: id, family: 'flood' } };
}

function level(id: string, time: number, fields: Record<string, number>): Reading {
  return { device: id, measurement: 'flood', time, fields, tags: { device: id, family: 'flood' } };
}

describe('the rule context holds the latest value of every metric a rule reads', () => {
  it('a rule sees a metric that came in another measurement', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: flood.high-on-low-battery
    name: 高水位且电池电量低
    condition: "water_level_m > 3 && battery_v < 3.5"
    severity: orange
    resolveAfter: 0s
`),
    );
    const d = device({ id: 'WL-9' });
    e.write(health(d.id, T0, { battery_v: 3.2, rssi_dbm: -80 }), d);
    e.write(level(d.id, T0 + MIN, { water_level_m: 3.5, rain_mm: 0 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:orange']);
    // The battery recovers: the next level reading is judged with the new battery value.
    e.write(health(d.id, T0 + 2 * MIN, { battery_v: 3.9, rssi_dbm: -80 }), d);
    e.write(level(d.id, T0 + 3 * MIN, { water_level_m: 3.6, rain_mm: 0 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:orange', 'alert.resolved:orange']);
  });

  it('after a reload, a metric only the new rules read reaches them from the next reading on', async () => {
    const { e, sink } = await engine(
      rules(`
rules:
  - id: flood.high
    name: 高水位
    condition: "water_level_m > 3"
    severity: yellow
`),
    );
    const d = device({ id: 'WL-10' });
    e.write(health(d.id, T0, { battery_v: 3.9, rssi_dbm: -100 }), d);
    e.write(level(d.id, T0 + MIN, { water_level_m: 1, rain_mm: 0 }), d);
    e.replaceRules(
      rules(`
rules:
  - id: flood.weak-signal
    name: 信号弱
    condition: "rssi_dbm < -95"
    severity: blue
`),
    );
    e.write(health(d.id, T0 + 2 * MIN, { battery_v: 3.9, rssi_dbm: -101 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:blue']);
  });
});
