import { describe, expect, it } from 'vitest';
import { createRng } from '../../simulators/prng.js';
import { createAccessController } from '../../simulators/scenarios/access.js';
import { createAirStation } from '../../simulators/scenarios/air.js';
import { aqi, iaqi } from '../../simulators/scenarios/aqi.js';
import { createConstructionSite, isWorkingHour } from '../../simulators/scenarios/dust.js';
import { createHealth } from '../../simulators/scenarios/health.js';
import { createBehaviour } from '../../simulators/scenarios/index.js';
import { withOutages } from '../../simulators/scenarios/offline.js';
import { createFloodGauge } from '../../simulators/scenarios/rain.js';
import { chinaHour, type Emission } from '../../simulators/scenarios/types.js';
import { jsonModel, run, simDevice } from './support.js';

// 2026-07-01 00:00 China time: a summer day.
const START = Date.UTC(2026, 5, 30, 16, 0, 0);
const H = 3_600_000;

type Telemetry = Extract<Emission, { kind: 'telemetry' }>;
const telemetry = (es: Emission[]) => es.filter((e): e is Telemetry => e.kind === 'telemetry');
const events = (es: Emission[]) => es.flatMap((e) => (e.kind === 'event' ? [{ at: e.at, ...e.record }] : []));

describe('rain event over a flood gauge', () => {
  const sim = simDevice('flood-0001', 'flood', jsonModel('flood', 'hydrotek-wl300'), {
    warning_level_m: 3,
    danger_level_m: 4,
  });
  const rain = { startMs: START + 2 * H, durationH: 3, peakMmPerH: 45 };
  const gauge = (seed: number) => {
    const rng = createRng(seed);
    return createFloodGauge(sim, rng, createHealth(rng.fork('h'), START), { startMs: START, rain });
  };

  it('rains only during the event, raises the level with a lag, then recedes', () => {
    const t = telemetry(run(gauge(7), START, 14));
    const level = (e: Telemetry) => e.values.water_level_m as number;
    const before = t.filter((e) => e.at < rain.startMs - 30 * 60_000);
    const wet = t.filter((e) => (e.values.rain_mm as number) > 0);
    expect(before.every((e) => e.values.rain_mm === 0)).toBe(true);
    expect(wet.length).toBeGreaterThan(10);
    expect(Math.min(...wet.map((e) => e.at))).toBeGreaterThanOrEqual(rain.startMs - 20 * 60_000);
    expect(Math.max(...wet.map((e) => e.at))).toBeLessThanOrEqual(rain.startMs + 3.4 * H);

    const baseLevel = level(before[0] as Telemetry);
    const peak = t.reduce((a, b) => (level(b) > level(a) ? b : a));
    expect(level(peak) - baseLevel).toBeGreaterThan(0.8);
    // The rain peaks mid-event (start + 1.5 h, ± the storm's lag); the river peaks later.
    const rainPeak = wet.reduce((a, b) =>
      (b.values.rain_mm as number) > (a.values.rain_mm as number) ? b : a,
    );
    expect(peak.at).toBeGreaterThan(rainPeak.at);
    const last = t.at(-1) as Telemetry;
    expect(level(last)).toBeLessThan(level(peak) - 0.5);
    expect(last.values.battery_v as number).toBeLessThan(4.2);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    expect(run(gauge(7), START, 6)).toEqual(run(gauge(7), START, 6));
    expect(run(gauge(7), START, 6)).not.toEqual(run(gauge(8), START, 6));
  });

  it('without a storm the level stays put and no rain falls', () => {
    const rng = createRng(3);
    const dry = createFloodGauge(sim, rng, createHealth(rng, START), { startMs: START });
    const t = telemetry(run(dry, START, 6));
    const levels = t.map((e) => e.values.water_level_m as number);
    expect(Math.max(...levels) - Math.min(...levels)).toBeLessThan(0.05);
    expect(t.every((e) => e.values.rain_mm === 0)).toBe(true);
    // One report per model interval (5 min).
    expect(t.length).toBe(72);
  });
});

describe('construction site dust', () => {
  it('is dustier and louder in working hours (07:00–18:00 China time), with severe spikes', () => {
    const sim = simDevice('dust-0001', 'dust');
    const rng = createRng(11);
    const site = createConstructionSite(sim, rng, createHealth(rng, START), {
      startMs: START,
      severeSpikeChance: 0.05,
    });
    const t = telemetry(run(site, START, 48));
    const work = t.filter((e) => isWorkingHour(e.at));
    const rest = t.filter((e) => !isWorkingHour(e.at));
    const mean = (xs: Telemetry[], k: 'pm10_ugm3' | 'noise_dba') =>
      xs.reduce((s, e) => s + (e.values[k] as number), 0) / xs.length;
    expect(mean(work, 'pm10_ugm3')).toBeGreaterThan(2 * mean(rest, 'pm10_ugm3'));
    expect(mean(work, 'noise_dba')).toBeGreaterThan(mean(rest, 'noise_dba') + 10);
    expect(work.some((e) => (e.values.pm10_ugm3 as number) > 500)).toBe(true);
    expect(rest.every((e) => (e.values.pm10_ugm3 as number) < 150)).toBe(true);
    for (const e of t) {
      expect(e.values.pm25_ugm3 as number).toBeLessThan(e.values.pm10_ugm3 as number);
      expect(e.values.tsp_ugm3 as number).toBeGreaterThan(e.values.pm10_ugm3 as number);
    }
  });

  it('reads the hour in China time', () => {
    expect(chinaHour(Date.UTC(2026, 0, 1, 23, 30))).toBeCloseTo(7.5);
    expect(isWorkingHour(Date.UTC(2026, 0, 1, 22, 59))).toBe(false);
    expect(isWorkingHour(Date.UTC(2026, 0, 1, 23, 0))).toBe(true);
  });
});

describe('air-quality station', () => {
  it('follows the diurnal pattern and reports an AQI consistent with its concentrations', () => {
    const sim = simDevice('air-0001', 'air');
    const rng = createRng(5);
    const st = createAirStation(sim, rng, createHealth(rng, START), { startMs: START });
    const t = telemetry(run(st, START, 24));
    const at = (h: number) => t.filter((e) => Math.abs(chinaHour(e.at) - h) < 1);
    const avg = (xs: Telemetry[], k: 'no2_ugm3' | 'o3_ugm3') =>
      xs.reduce((s, e) => s + (e.values[k] as number), 0) / xs.length;
    expect(avg(at(8), 'no2_ugm3')).toBeGreaterThan(1.5 * avg(at(3), 'no2_ugm3'));
    expect(avg(at(15), 'o3_ugm3')).toBeGreaterThan(2 * avg(at(3), 'o3_ugm3'));
    for (const e of t) {
      const { aqi: reported, ...c } = e.values;
      expect(reported).toBe(aqi(c));
    }
  });

  it('computes IAQI per HJ 633-2012 breakpoints', () => {
    expect(iaqi('pm25_ugm3', 35)).toBe(50);
    expect(iaqi('pm25_ugm3', 75)).toBe(100);
    expect(iaqi('pm25_ugm3', 55)).toBe(75);
    expect(aqi({ pm25_ugm3: 115, pm10_ugm3: 50 })).toBe(150);
  });
});

describe('access controller', () => {
  const run24 = (incidents: boolean) => {
    const sim = simDevice('access-0001', 'access', jsonModel('access', 'gatekeeper-ac100'));
    const rng = createRng(21);
    return run(
      createAccessController(sim, rng, createHealth(rng, START), {
        startMs: START,
        incidents,
        forcedPerHour: 0.3,
        heldPerHour: 0.3,
        deniedBurstPerHour: 0.3,
      }),
      START,
      24,
    );
  };

  it('mostly grants, sometimes denies, and opens and closes doors after grants', () => {
    const ev = events(run24(false));
    const n = (e: string) => ev.filter((x) => x.event === e).length;
    expect(n('granted')).toBeGreaterThan(100);
    expect(n('denied')).toBeGreaterThan(0);
    expect(n('denied')).toBeLessThan(n('granted') * 0.2);
    expect(n('door_open')).toBe(n('granted'));
    expect(n('door_forced') + n('door_held')).toBe(0);
    expect(ev.every((e) => e.door !== undefined)).toBe(true);
    for (let i = 1; i < ev.length; i++)
      expect((ev[i] as { at: number }).at).toBeGreaterThanOrEqual((ev[i - 1] as { at: number }).at);
  });

  it('with incidents: forced doors, held doors, and a denied burst of 5+ in 2 minutes at one door', () => {
    const ev = events(run24(true));
    expect(ev.some((e) => e.event === 'door_forced')).toBe(true);
    expect(ev.some((e) => e.event === 'door_held')).toBe(true);
    const denied = ev.filter((e) => e.event === 'denied');
    const burst = denied.some(
      (d) => denied.filter((x) => x.door === d.door && x.at >= d.at && x.at - d.at <= 120_000).length >= 5,
    );
    expect(burst).toBe(true);
  });
});

describe('outages', () => {
  it('goes offline, sends nothing while down, and comes back', () => {
    const sim = simDevice('flood-0002', 'flood');
    const rng = createRng(9);
    const inner = createFloodGauge(sim, rng, createHealth(rng, START), { startMs: START });
    const b = withOutages(inner, rng.fork('o'), { startMs: START, meanUptimeH: 1, downtimeMin: [20, 30] });
    const es = run(b, START, 8);
    const outages = es.filter((e): e is Extract<Emission, { kind: 'offline' }> => e.kind === 'offline');
    expect(outages.length).toBeGreaterThan(0);
    for (const o of outages) {
      expect(o.untilMs - o.at).toBeGreaterThanOrEqual(20 * 60_000);
      expect(es.some((e) => e.kind === 'telemetry' && e.at >= o.at && e.at < o.untilMs)).toBe(false);
    }
    const first = outages[0] as Extract<Emission, { kind: 'offline' }>;
    expect(es.some((e) => e.kind === 'telemetry' && e.at >= first.untilMs)).toBe(true);
  });

  it('the offline scenario gives a share of the fleet outages; others never drop', () => {
    const kinds = Array.from({ length: 40 }, (_, i) => {
      const b = createBehaviour(simDevice(`flood-${i}`, 'flood'), {
        scenario: 'offline',
        seed: 1,
        startMs: START,
      });
      return run(b, START, 6, 5 * 60_000).some((e) => e.kind === 'offline');
    });
    const dropping = kinds.filter(Boolean).length;
    expect(dropping).toBeGreaterThan(3);
    expect(dropping).toBeLessThan(30);
  });
});
