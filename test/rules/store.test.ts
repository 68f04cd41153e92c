import { describe, expect, it } from 'vitest';
import { RedisSilencePersistence } from '../../adapters/redis/rule-silences.js';
import type { Incident } from '../../processors/rules/incident.js';
import { SilenceStore } from '../../processors/rules/silences.js';
import { type IncidentStore, MemoryIncidentStore } from '../../processors/rules/store.js';
import { device, engine, MIN, reading, rules, T0 } from './helpers.js';
import { redisStores } from './redis-store.js';

const { redis, prefix: freshPrefix, store: redisStore } = redisStores('store');

const stores: [string, () => IncidentStore][] = [
  ['memory', () => new MemoryIncidentStore()],
  ['redis', redisStore],
];

const RULES = rules(`
rules:
  - id: flood.level
    name: 水位超警戒
    condition:
      levels:
        - { severity: yellow, when: "water_level_m >= device.attrs.warning_level_m" }
        - { severity: orange, when: "water_level_m >= device.attrs.danger_level_m" }
    for: 2m
    keepFiringFor: 5m
    ackWithin: 15m
  - { id: gone, name: Gone, nodata: 10m, severity: blue }
`);

describe.each(stores)('incident store contract: %s', (_name, make) => {
  it('round-trips incidents, last-seen times and windows; later saves overwrite and remove', async () => {
    const s = make();
    const inc = {
      key: 'r|d',
      id: 'abc',
      ruleId: 'r',
      phase: 'firing',
      flapTimes: [1, 2],
    } as unknown as Incident;
    const win = { durationMs: 900_000, since: 5, t: [10, 20], v: [1.5, 2.5] };
    await s.save({
      put: [inc],
      remove: [],
      lastSeen: [['d', 42]],
      windows: { put: [['d', { w: win }]], remove: [] },
    });
    inc.phase = 'resolving'; // a later mutation must not leak into the store
    expect(await s.load()).toEqual({
      incidents: [{ ...inc, phase: 'firing' }],
      lastSeen: { d: 42 },
      windows: { d: { w: win } },
    });
    await s.save({ put: [], remove: ['r|d'], lastSeen: [['d', 43]], windows: { put: [], remove: ['d'] } });
    expect(await s.load()).toEqual({ incidents: [], lastSeen: { d: 43 }, windows: {} });
  });

  it('window state survives a restart: a window incident resolves exactly when it would have without one', async () => {
    const WIN = rules(
      'rules:\n  - { id: dust, name: PM10, condition: "avg(pm10_ugm3, 15m) > 150", severity: orange }\n',
    );
    const d = device({ id: 'D-1', family: 'dust' });
    const series = (i: number) => (i < 30 ? 200 : 100);
    const control = await engine(WIN);
    for (let i = 0; i < 60; i++) control.e.write(reading(d, T0 + i * MIN, { pm10_ugm3: series(i) }), d);
    await control.e.drain();
    expect(control.sink.types()).toEqual(['alert.firing:orange', 'alert.resolved:orange']);

    const store = make();
    const before = await engine(WIN, { store });
    for (let i = 0; i < 32; i++) before.e.write(reading(d, T0 + i * MIN, { pm10_ugm3: series(i) }), d);
    // Stopped as the gateway stops: once the sink has taken what was handed on, the saved copies go.
    await before.e.stop();
    await before.e.drain();
    const after = await engine(WIN, { store });
    for (let i = 32; i < 60; i++) after.e.write(reading(d, T0 + i * MIN, { pm10_ugm3: series(i) }), d);
    await after.e.drain();
    expect([...before.sink.events, ...after.sink.events]).toEqual(control.sink.events);
  });

  it('a restart neither re-fires an open incident nor forgets to resolve it', async () => {
    const store = make();
    const d = device();
    const first = await engine(RULES, { store });
    for (let i = 0; i <= 3; i++) first.e.write(reading(d, T0 + i * MIN, { water_level_m: 2.7 }), d);
    await first.e.drain();
    expect(first.sink.types()).toEqual(['alert.firing:yellow']);
    await first.e.stop();

    const second = await engine(RULES, { store });
    second.e.write(reading(d, T0 + 4 * MIN, { water_level_m: 2.8 }), d);
    second.e.write(reading(d, T0 + 5 * MIN, { water_level_m: 3.1 }), d);
    await second.e.drain();
    expect(second.sink.types()).toEqual(['alert.escalated:orange']);
    second.e.write(reading(d, T0 + 6 * MIN, { water_level_m: 1.0 }), d); // resolving, keepFiringFor 5m
    await second.e.stop();
    await second.e.drain();

    const third = await engine(RULES, { store });
    third.e.tick(T0 + 12 * MIN);
    await third.e.drain();
    expect(third.sink.types()).toEqual(['alert.resolved:orange']);
    const ids = [...first.sink.events, ...second.sink.events, ...third.sink.events];
    expect(new Set(ids.map((e) => e.incidentId)).size).toBe(1);
    expect(new Set(ids.map((e) => e.id)).size).toBe(3);
    expect(third.e.listIncidents()[0]).toMatchObject({ phase: 'resolved', ackWithinMs: 900_000 });
  });

  it('a pending `for` timer survives a restart', async () => {
    const store = make();
    const d = device();
    const first = await engine(RULES, { store });
    first.e.write(reading(d, T0, { water_level_m: 2.7 }), d);
    await first.e.stop();
    const second = await engine(RULES, { store });
    second.e.write(reading(d, T0 + 2 * MIN, { water_level_m: 2.7 }), d);
    await second.e.drain();
    expect(second.sink.types()).toEqual(['alert.firing:yellow']);
    expect(second.sink.events[0]!.startedAt).toBe(new Date(T0).toISOString());
  });

  it('ack is recorded and persisted', async () => {
    const store = make();
    const d = device();
    const a = await engine(RULES, { store });
    for (let i = 0; i <= 2; i++) a.e.write(reading(d, T0 + i * MIN, { water_level_m: 2.7 }), d);
    await a.e.drain();
    const id = a.sink.events[0]!.incidentId;
    expect(a.e.ack(id, '值班员张三', T0 + 3 * MIN)).toMatchObject({
      ackedBy: '值班员张三',
      ackedAt: T0 + 3 * MIN,
    });
    expect(a.e.ack('nope', 'x')).toBeUndefined();
    await a.e.stop();
    const b = await engine(RULES, { store });
    expect(b.e.getIncident(id)?.ackedBy).toBe('值班员张三');
    expect(b.e.ackWithinFor(a.sink.events[0]!)).toBe(900_000);
  });
});

describe('silences persisted in Redis', () => {
  it('survive a restart and expire', async () => {
    const prefix = freshPrefix();
    const now = Date.now();
    const s1 = new SilenceStore(new RedisSilencePersistence(redis, { prefix }));
    await s1.start(now);
    const kept = await s1.add({
      deviceId: 'WL-001',
      startsAt: now,
      endsAt: now + 3_600_000,
      reason: '更换传感器',
    });
    const gone = await s1.add({ ruleId: 'x', startsAt: now - 10_000, endsAt: now + 1, reason: 'short' });
    await expect(s1.add({ startsAt: now, endsAt: now + 1000, reason: 'no matcher' })).rejects.toThrow(
      /rule, device or location/,
    );
    await new Promise((r) => setTimeout(r, 5));
    const s2 = new SilenceStore(new RedisSilencePersistence(redis, { prefix }));
    await s2.start(Date.now());
    expect(s2.list(Date.now()).map((s) => s.id)).toEqual([kept.id]);
    expect(s2.get(gone.id)).toBeUndefined();
    expect(s2.match('any', device(), device().location, Date.now())?.reason).toBe('更换传感器');
    expect(await s2.remove(kept.id)).toBe(true);
    expect(s2.match('any', device(), device().location, Date.now())).toBeUndefined();
  });
});
