import { describe, expect, it } from 'vitest';
import { device, engine, MIN, reading, rules, T0 } from './helpers.js';

/** Issue 6: a reading costs in proportion to the rules that match it, not to all rules. */
describe('rule evaluation is scoped to the rules whose selector matches the device', () => {
  const DISTRICTS = 100;
  const PER_DISTRICT = 10; // 1,000 rules
  const yaml = `rules:\n${Array.from({ length: DISTRICTS * PER_DISTRICT }, (_, i) => {
    const district = `区${i % DISTRICTS}`;
    return `  - { id: r${i}, name: R${i}, selector: { family: flood, location: { district: ${district} } }, condition: "water_level_m > ${3 + (i % 7)}", severity: yellow }`;
  }).join('\n')}\n`;

  it('evaluates only the 10 rules of the device district among 1,000, and follows a registry move', async () => {
    const { e, sink } = await engine(rules(yaml));
    const d = device({ id: 'wl-9', location: { district: '区7', street: 's', community: 'c', grid: 'g' } });
    e.write(reading(d, T0, { water_level_m: 1 }), d);
    expect(e.stats.evaluations).toBe(PER_DISTRICT);
    e.write(reading(d, T0 + MIN, { water_level_m: 20 }), d);
    expect(e.stats.evaluations).toBe(2 * PER_DISTRICT);
    await e.drain();
    expect(new Set(sink.events.map((ev) => ev.rule.id))).toEqual(
      new Set(Array.from({ length: PER_DISTRICT }, (_, k) => `r${7 + k * DISTRICTS}`)),
    );
    // the registry moves the device (a new record): the next reading uses the new district's rules
    const moved = { ...d, location: { ...d.location, district: '区8' } };
    e.write(reading(moved, T0 + 2 * MIN, { water_level_m: 1 }), moved);
    expect(e.stats.evaluations).toBe(3 * PER_DISTRICT);
    const status = e.rulesStatus();
    expect(status.find((s) => s.id === 'r8')?.evaluations).toBe(1);
    expect(status.find((s) => s.id === 'r9')?.evaluations ?? 0).toBe(0);
  });
});

describe('the per-measurement trigger plan follows the fields each reading carries', () => {
  const yaml = `rules:
  - { id: level, name: L, selector: { family: flood }, condition: "water_level_m > 3", severity: yellow }
  - { id: rain, name: R, selector: { family: flood }, condition: "rain_mm > 50", severity: yellow }
  - { id: both, name: B, selector: { family: flood }, condition: "water_level_m > 3 && rain_mm > 50", severity: red }
`;
  it('re-plans when the same measurement comes with other fields, in another order, or fewer', async () => {
    const { e, sink } = await engine(rules(yaml));
    const d = device();
    e.write(reading(d, T0, { water_level_m: 1 }), d); // level, both
    expect(e.stats.evaluations).toBe(2);
    e.write(reading(d, T0 + MIN, { rain_mm: 80 }), d); // rain, both: not the level rule
    expect(e.stats.evaluations).toBe(4);
    e.write(reading(d, T0 + 2 * MIN, { rain_mm: 80, water_level_m: 4 }), d); // all three, each once
    expect(e.stats.evaluations).toBe(7);
    e.write(reading(d, T0 + 3 * MIN, { water_level_m: 4, rain_mm: 80 }), d); // other order: all three
    expect(e.stats.evaluations).toBe(10);
    e.write(reading(d, T0 + 4 * MIN, { water_level_m: 4 }), d); // fewer: level, both
    expect(e.stats.evaluations).toBe(12);
    await e.drain();
    expect(new Set(sink.events.map((ev) => ev.rule.id))).toEqual(new Set(['rain', 'level', 'both']));
  });

  it('an event on a measurement that came without one triggers the event rules', async () => {
    const { e, sink } = await engine(
      rules(`rules:
  - { id: forced, name: F, selector: { family: access }, event: "access.event == 'door_forced'", severity: red }
`),
    );
    const d = device({ id: 'AC-1', family: 'access', model: 'gatekeeper-ac100', attrs: {} });
    e.write(reading(d, T0, { battery_v: 3.9 }), d);
    expect(e.stats.evaluations).toBe(0);
    e.write(reading(d, T0 + MIN, { battery_v: 3.9 }, { event: 'door_forced', door: '1' }), d);
    expect(e.stats.evaluations).toBe(1);
    await e.drain();
    expect(sink.events.map((ev) => ev.rule.id)).toEqual(['forced']);
  });
});

describe('evaluation counts per rule survive a reload that moves the rules around', () => {
  it('keeps counting by rule id, not by position', async () => {
    const a = (id: string, m: string) =>
      `  - { id: ${id}, name: ${id}, selector: { family: flood }, condition: "${m} > 100", severity: yellow }`;
    const { e } = await engine(rules(`rules:\n${a('level', 'water_level_m')}\n${a('rain', 'rain_mm')}\n`));
    const d = device();
    e.write(reading(d, T0, { water_level_m: 1, rain_mm: 1 }), d);
    e.write(reading(d, T0 + MIN, { water_level_m: 1 }), d);
    const count = () => Object.fromEntries(e.rulesStatus().map((s) => [s.id, s.evaluations]));
    expect(count()).toEqual({ level: 2, rain: 1 });
    // Reordered, one removed, one added: positions change.
    e.replaceRules(
      rules(
        `rules:\n${a('new', 'water_level_m')}\n${a('rain', 'rain_mm')}\n${a('level', 'water_level_m')}\n`,
      ),
    );
    e.write(reading(d, T0 + 2 * MIN, { water_level_m: 1, rain_mm: 1 }), d);
    expect(count()).toEqual({ new: 1, rain: 2, level: 3 });
    e.replaceRules(rules(`rules:\n${a('level', 'water_level_m')}\n`));
    e.write(reading(d, T0 + 3 * MIN, { water_level_m: 1, rain_mm: 1 }), d);
    expect(count()).toEqual({ level: 4 });
    expect(e.rulesStatus()[0]?.lastEvaluatedAt).toBe(T0 + 3 * MIN);
  });
});

describe('the context keeps the latest value of each metric across measurements', () => {
  it('a rule over two measurements sees the latest of each', async () => {
    const { e, sink } = await engine(
      rules(`rules:
  - { id: loud-dust, name: L, selector: { family: dust }, condition: "pm10_ugm3 > 100 && noise_dba > 70", severity: yellow }
`),
    );
    const d = device({ id: 'DS-1', family: 'dust', model: 'clearsite-ds7', attrs: {} });
    const at = (m: string, t: number, fields: Record<string, number>) => ({
      ...reading(d, t, fields),
      measurement: m as 'dust',
    });
    e.write(at('dust', T0, { pm10_ugm3: 150, temp_c: 20 }), d);
    e.write(at('noise', T0 + MIN, { noise_dba: 60 }), d);
    e.write(at('noise', T0 + 2 * MIN, { noise_dba: 80 }), d);
    await e.drain();
    expect(sink.events.map((ev) => `${ev.rule.id}:${ev.type}`)).toEqual(['loud-dust:alert.firing']);
    expect(e.stats.evaluations).toBe(3);
  });
});
