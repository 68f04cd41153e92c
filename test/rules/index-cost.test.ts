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
    await new Promise((r) => setImmediate(r));
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
