import { describe, expect, it } from 'vitest';
import { SilenceStore } from '../../processors/rules/silences.js';
import type { Device, DeviceDirectory } from '../../processors/types.js';
import { device, engine, MIN, RecordingSink, reading, rules, T0 } from './helpers.js';

/**
 * What a silence does to an incident, as a downstream system sees it (Alertmanager's semantics):
 * it holds back new firings, escalations and reminders while active; it never holds back the
 * resolve of an incident the outside world already saw fire.
 */

const LEVELS = rules(`
rules:
  - id: flood.level
    name: 水位超警戒
    condition:
      levels:
        - { severity: yellow, when: "water_level_m >= 2.5" }
        - { severity: red, when: "water_level_m >= 3.5" }
    clear: "water_level_m < 2.4"
    repeatInterval: 10m
`);

async function silenced(from: number, to: number): Promise<SilenceStore> {
  const silences = new SilenceStore();
  await silences.add({ ruleId: 'flood.level', startsAt: from, endsAt: to, reason: '汛前检修' });
  return silences;
}

describe('silences over incidents', () => {
  it('a silence added while an incident fires does not swallow its alert.resolved', async () => {
    const silences = new SilenceStore();
    const { e, sink } = await engine(LEVELS, { silences });
    const d = device();
    e.write(reading(d, T0, { water_level_m: 2.7 }), d);
    await silences.add({ deviceId: d.id, startsAt: T0 + MIN, endsAt: T0 + 60 * MIN, reason: '汛前检修' });
    e.write(reading(d, T0 + 2 * MIN, { water_level_m: 2.0 }), d);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow', 'alert.resolved:yellow']);
    expect(sink.events[1]!.incidentId).toBe(sink.events[0]!.incidentId);
  });

  it('the incident stays known by id after it resolved under a silence and its condition came back', async () => {
    const { e, sink } = await engine(LEVELS, { silences: await silenced(T0 + MIN, T0 + 60 * MIN) });
    const d = device();
    e.write(reading(d, T0, { water_level_m: 2.7 }), d);
    await e.drain();
    const id = sink.events[0]!.incidentId;
    e.write(reading(d, T0 + 2 * MIN, { water_level_m: 2.0 }), d);
    // Same rule, same device, red again: a new incident under the same key.
    e.write(reading(d, T0 + 3 * MIN, { water_level_m: 2.8 }), d);
    expect(e.getIncident(id)).toMatchObject({ id, phase: 'resolved', ruleId: 'flood.level' });
    expect(e.listIncidents().map((i) => i.id)).toContain(id);
    // The new one started and is still inside the silence: nobody was told of it.
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow', 'alert.resolved:yellow']);
  });

  it('holds back reminders and escalations while active; the escalation is sent when it ends', async () => {
    const { e, sink } = await engine(LEVELS, { silences: await silenced(T0 + MIN, T0 + 30 * MIN) });
    const d = device();
    e.write(reading(d, T0, { water_level_m: 2.7 }), d);
    e.write(reading(d, T0 + 5 * MIN, { water_level_m: 3.6 }), d);
    e.tick(T0 + 20 * MIN); // a reminder would be due
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow']);
    e.tick(T0 + 31 * MIN);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow', 'alert.escalated:red']);
    expect(sink.events[1]).toMatchObject({ previousSeverity: 'yellow', reason: 'severity_rose' });
  });

  it('an incident that starts and ends inside a silence is never dispatched', async () => {
    const { e, sink } = await engine(LEVELS, { silences: await silenced(T0, T0 + 30 * MIN) });
    const d = device();
    e.write(reading(d, T0 + MIN, { water_level_m: 3.7 }), d);
    e.write(reading(d, T0 + 2 * MIN, { water_level_m: 2.0 }), d);
    e.tick(T0 + 31 * MIN);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    expect(e.stats.silenced).toBe(1);
  });
});

describe('commissioning devices', () => {
  it('confirmed while red: dispatch gets alert.firing before any alert.resolved', async () => {
    const registry = new Map<string, Device>();
    const directory: DeviceDirectory = { get: (id) => registry.get(id) };
    const installer = new RecordingSink();
    const { e, sink } = await engine(LEVELS, { installerSink: installer, directory });
    const commissioning = device({ state: 'commissioning' });
    registry.set(commissioning.id, commissioning);
    e.write(reading(commissioning, T0, { water_level_m: 2.7 }), commissioning);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    expect(installer.types()).toEqual(['alert.firing:yellow']);
    // The installer confirms it: the command centre now owns a red device.
    const active = { ...commissioning, state: 'active' as const };
    registry.set(active.id, active);
    e.tick(T0 + MIN);
    e.write(reading(active, T0 + 2 * MIN, { water_level_m: 2.0 }), active);
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow', 'alert.resolved:yellow']);
    // The installer, who saw it fire, sees it resolve too.
    expect(installer.types()).toEqual(['alert.firing:yellow', 'alert.resolved:yellow']);
  });

  it('confirmed after it cleared but before it resolved: dispatch is told nothing at all', async () => {
    const slow = rules(`
rules:
  - { id: flood.level, name: L, condition: "water_level_m >= 2.5", severity: yellow, keepFiringFor: 5m }
`);
    const installer = new RecordingSink();
    const { e, sink } = await engine(slow, { installerSink: installer });
    const commissioning = device({ state: 'commissioning' });
    e.write(reading(commissioning, T0, { water_level_m: 2.7 }), commissioning);
    e.write(reading(commissioning, T0 + MIN, { water_level_m: 2.0 }), commissioning);
    const active = { ...commissioning, state: 'active' as const };
    e.write(reading(active, T0 + 10 * MIN, { water_level_m: 2.0 }), active);
    await e.drain();
    expect(sink.events).toHaveLength(0);
    expect(installer.types()).toEqual(['alert.firing:yellow', 'alert.resolved:yellow']);
  });
});
