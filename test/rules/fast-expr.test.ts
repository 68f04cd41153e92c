import { describe, expect, it } from 'vitest';
import { type CompiledExpr, compileExpr, evalBool, evalNumber } from '../../processors/rules/expr.js';
import { seededRandom } from '../support/random.js';

// The shipped rules' expressions (config/rules) and shapes around them.
const EXPRESSIONS = [
  "access.event == 'door_forced'",
  "access.event == 'door_closed'",
  'aqi > 100',
  'aqi <= 90',
  'avg(pm10_ugm3, 15m) > 150',
  'avg(pm10_ugm3, 15m) <= 70',
  'count(denied, 5m) >= 5',
  'rate(water_level_m, 30m) > 0.3',
  'sum(rain_mm, 1h) >= 20',
  'water_level_m >= device.attrs.danger_level_m + 0.3',
  'water_level_m < device.attrs.warning_level_m - 0.35',
  'water_level_m >= device.attrs.warning_level_m',
  'aqi > 100 && pm10_ugm3 < 3 || !(noise_dba == 2.0)',
  'aqi != 100.0 || pm10_ugm3 >= -2.5',
  'device.attrs.danger_level_m > 3 && device.attrs.warning_level_m <= -2',
  'device.attrs.danger_level_m == 3.5 || device.attrs.warning_level_m != 20.0',
  '-5 < aqi && aqi - 0.5 > pm10_ugm3 + 1.5',
  '-0 < aqi || -0.0 > pm10_ugm3',
  "access.event != 'denied' && tags.door == '1'",
  'avg(pm10_ugm3, 15m) > 80 && max(noise_dba, 1h) > 70',
];

const rand = seededRandom(0x2545f491);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const NUMBERS = [100, 100.5, 99.99, 0, -0, -5, -2, 2, 3, 3.5, 70, 150.0001, 20, 0.3, Number.NaN, 1e9];
const STRINGS = ['door_forced', 'door_closed', 'denied', '1', '2', ''];

function context(e: CompiledExpr): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  const names = [
    'aqi',
    'pm10_ugm3',
    'noise_dba',
    'water_level_m',
    'rain_mm',
    ...e.windows.map((w) => w.name),
  ];
  for (const n of names) if (rand() < 0.85) ctx[n] = pick(NUMBERS);
  if (rand() < 0.9) {
    const attrs: Record<string, unknown> = {};
    // A device attribute may be named anything, `constructor` too (CEL then no longer sees a map).
    if (rand() < 0.1) Object.defineProperty(attrs, 'constructor', { value: pick(NUMBERS), enumerable: true });
    for (const k of ['danger_level_m', 'warning_level_m'])
      if (rand() < 0.8) attrs[k] = rand() < 0.9 ? pick(NUMBERS) : pick(STRINGS);
    ctx.device = rand() < 0.9 ? { attrs } : {};
  }
  for (const m of ['access', 'tags']) {
    if (rand() < 0.9) {
      const tags: Record<string, unknown> = {};
      if (rand() < 0.85) tags.event = rand() < 0.9 ? pick(STRINGS) : pick(NUMBERS);
      if (rand() < 0.85) tags.door = pick(STRINGS);
      ctx[m] = tags;
    }
  }
  return ctx;
}

describe('rule expressions as JavaScript closures', () => {
  it('covers every shape the shipped rules use, and leaves other shapes to CEL', () => {
    expect(EXPRESSIONS.filter((t) => !compileExpr(t).native)).toEqual([]);
    expect(compileExpr('aqi > 100', false).native).toBeUndefined();
    // Shapes without a closure: int equality on a map field, functions, lists.
    for (const t of ['device.attrs.danger_level_m == 3', 'size(access.event) > 3', 'aqi in [1.0, 2.0]']) {
      expect(compileExpr(t).native, t).toBeUndefined();
    }
  });

  it.each(EXPRESSIONS)('%s: the same answer as the CEL interpreter over 5,000 contexts', (text) => {
    const fast = compileExpr(text);
    const cel = compileExpr(text, false);
    const parts = (e: CompiledExpr) => [e.comparison?.value, e.comparison?.threshold];
    const differ: unknown[] = [];
    for (let i = 0; i < 5000 && differ.length < 3; i++) {
      const ctx = context(cel);
      const a = evalBool(fast, ctx);
      const b = evalBool(cel, ctx);
      if (a !== b) differ.push({ ctx, fast: a, cel: b });
      parts(fast).forEach((p, j) => {
        const q = parts(cel)[j];
        if (p && q && !Object.is(evalNumber(p, ctx), evalNumber(q, ctx)))
          differ.push({ ctx, part: p.source, fast: evalNumber(p, ctx), cel: evalNumber(q, ctx) });
      });
    }
    expect(differ).toEqual([]);
  });
});
