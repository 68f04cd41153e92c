import { describe, expect, it } from 'vitest';
import type { RedisIncidentStore } from '../../adapters/redis/incident-store.js';
import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';
import { RuleEngine } from '../../processors/rules/engine.js';
import type { IncidentSnapshot } from '../../processors/rules/store.js';
import { waitFor } from '../adapters/support.js';
import { device, MIN, RecordingSink, reading, rules, T0 } from './helpers.js';
import { redisStores } from './redis-store.js';

const RULES = rules(`
rules:
  - id: flood.level
    name: 水位超警戒
    condition: "water_level_m >= device.attrs.warning_level_m"
    severity: yellow
`);

const { store } = redisStores('sbs');

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The engine as the gateway runs it (gateway/alerting.ts), without the write-behind timer. */
async function engine(s: RedisIncidentStore, sink: AlertSink, onRaised?: (e: AlertEvent) => void) {
  const e = new RuleEngine({
    rules: RULES,
    sink,
    store: s,
    flushIntervalMs: 0,
    onRaised,
  });
  await e.start();
  return e;
}

describe('alert events leave the engine right behind the save of their incident state', () => {
  it('what the sink reads from the store after the event has the event and its incident saved', async () => {
    const s = store();
    const d = device();
    const raised: AlertEvent[] = [];
    const atEmit: { event: AlertEvent; snap: IncidentSnapshot }[] = [];
    const e = await engine(
      s,
      { emit: async (event) => void atEmit.push({ event, snap: await s.load() }) },
      (ev) => raised.push(ev),
    );
    e.write(reading(d, T0, { water_level_m: 2.7 }), d);
    // Raised at once (the in-process views); the sink gets it once the save is written.
    expect(raised.map((x) => x.type)).toEqual(['alert.firing']);
    expect(atEmit).toHaveLength(0);
    await waitFor('the firing at the sink', () => atEmit.length === 1);
    const { event, snap } = atEmit[0]!;
    expect(event.id).toBe(raised[0]!.id);
    expect(snap.incidents).toHaveLength(1);
    expect(snap.incidents[0]).toMatchObject({ id: event.incidentId, phase: 'firing', notified: true });
    expect(snap.held?.map((h) => h.event.id)).toEqual([event.id]);
  });

  it('the sink does not wait for the save to be answered', async () => {
    const s = store();
    // The real store, with its answers held back: the writes reach Redis, the engine hears nothing.
    let answer = () => {};
    const answered = new Promise<void>((r) => (answer = r));
    const mute: RedisIncidentStore = Object.create(s);
    mute.save = (c) => {
      const done = s.save(c);
      return answered.then(() => done);
    };
    let emitted = 0;
    const atEmit: { event: AlertEvent; snap: IncidentSnapshot }[] = [];
    const e = await engine(mute, {
      emit: async (event) => {
        emitted++;
        atEmit.push({ event, snap: await s.load() });
      },
    });
    const d = device();
    e.write(reading(d, T0, { water_level_m: 2.7 }), d);
    // Handed on in the same turn as the reading, with no answer from the store.
    await new Promise((r) => setImmediate(r));
    expect(emitted).toBe(1);
    await waitFor('the sink read the store', () => atEmit.length === 1);
    // Read on the store's connection after the event: the save, written before, is applied.
    expect(atEmit[0]!.snap.held?.map((h) => h.event.id)).toEqual([atEmit[0]!.event.id]);
    answer();
    // Taken by the sink, and the save answered: the saved copy goes.
    await e.drain();
    expect((await s.load()).held).toBeUndefined();
  });

  it('an event saved but not taken when the process died is sent again by the next start: the same event, once', async () => {
    const s = store();
    const d = device();
    // The first engine's sink never takes the event: the process dies with it on the way.
    const first = await engine(s, { emit: () => new Promise<void>(() => {}) });
    first.write(reading(d, T0, { water_level_m: 2.7 }), d);
    const held = await until('the firing saved', async () => (await s.load()).held);
    expect(held.map((h) => h.event.type)).toEqual(['alert.firing']);

    const sink = new RecordingSink();
    const next = await engine(s, sink);
    await waitFor('the saved firing sent again', () => sink.events.length === 1);
    expect(sink.events[0]).toEqual(held[0]!.event);
    // Taken: its saved copy goes, so a later start does not send it a third time.
    await next.drain();
    expect((await s.load()).held).toBeUndefined();
    // The restarted engine carries the incident on: no second firing, and it resolves.
    next.write(reading(d, T0 + MIN, { water_level_m: 2.8 }), d);
    next.write(reading(d, T0 + 2 * MIN, { water_level_m: 1.0 }), d);
    await waitFor('the resolve', () => sink.events.length === 2);
    expect(sink.types()).toEqual(['alert.firing:yellow', 'alert.resolved:yellow']);
    expect(sink.events[1]!.incidentId).toBe(held[0]!.event.incidentId);
  });

  it('a save goes out while the one before it is still unanswered: a firing is not queued behind it', async () => {
    const s = store();
    // The real store, with the answer to its first save held back (as a slow periodic save would be).
    let release = () => {};
    let saves = 0;
    const slow: RedisIncidentStore = Object.create(s);
    slow.save = (c) => {
      const done = s.save(c);
      if (++saves > 1) return done;
      return new Promise((resolve, reject) => {
        release = () => void done.then(resolve, reject);
      });
    };
    const sink = new RecordingSink();
    const e = await engine(slow, sink);
    const calm = device({ id: 'WL-CALM' });
    e.write(reading(calm, T0, { water_level_m: 1.0 }), calm);
    void e.flush(); // the first save: its answer is held
    const d = device();
    e.write(reading(d, T0, { water_level_m: 2.7 }), d);
    await waitFor('the firing at the sink', () => sink.events.length === 1);
    expect(saves).toBe(2);
    expect((await s.load()).incidents).toMatchObject([{ phase: 'firing', notified: true }]);
    release();
    await e.drain();
  });
});
