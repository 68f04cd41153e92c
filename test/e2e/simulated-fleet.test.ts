import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { MODELS } from '../../processors/devices/index.js';
import { buildFleet, fleetToRegistryYaml } from '../../simulators/fleet.js';
import { runHj212Stations } from '../../simulators/hj212/station.js';
import { buildHj212Fleet } from '../../simulators/hj212-fleet.js';
import { MqttFleetRunner } from '../../simulators/mqtt-runner.js';
import { startGateway } from '../support/gateway.js';
import { waitForSeries } from '../support/vm.js';

const vmUrl = inject('vmUrl');
const seed = 4242;

/** The simulators speak each model's own vendor format; the gateway must turn all of it into canonical series. */
describe('simulated fleet, every family and HJ 212 stations, into VictoriaMetrics', () => {
  const fleet = buildFleet({ devices: 8, seed, models: MODELS });
  const hj = buildHj212Fleet({ stations: 2, seed, models: MODELS });
  let gw: Gateway;
  let runner: MqttFleetRunner;
  const abort = new AbortController();
  let stations: Promise<unknown>;

  beforeAll(async () => {
    ({ gw } = await startGateway(fleetToRegistryYaml(fleet, hj.entries), {
      GRIDGATE_TSDB__URL: vmUrl,
      GRIDGATE_HJ212__ENABLED: 'true',
      GRIDGATE_HJ212__PORT: '0',
    }));
    runner = new MqttFleetRunner({
      url: `mqtt://127.0.0.1:${gw.ports.mqtt}`,
      fleet,
      seed,
      speed: 600,
      scenario: 'all',
    });
    await runner.start();
    stations = runHj212Stations({
      host: '127.0.0.1',
      port: gw.ports.hj212!,
      stations: hj.specs,
      intervalMs: 300,
      signal: abort.signal,
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    abort.abort();
    await stations;
    await runner?.stop();
    await gw?.stop();
  });

  it('writes canonical series for each family with the registry location as tags', async () => {
    const byFamily = new Map(fleet.map((s) => [s.device.family, s.device]));
    const checks: [string, string][] = [
      ['flood', 'flood_water_level_m'],
      ['dust', 'dust_pm10_ugm3'],
      ['air', 'air_pm25_ugm3'],
    ];
    for (const [family, metric] of checks) {
      const d = byFamily.get(family as never)!;
      const [s] = await waitForSeries(vmUrl, `${metric}{device="${d.id}"}`);
      expect(s!.metric).toMatchObject({
        family,
        model: d.model,
        district: d.location.district,
        grid: d.location.grid,
      });
      expect(s!.values.every(Number.isFinite)).toBe(true);
    }
    const door = byFamily.get('access')!;
    const online = await waitForSeries(vmUrl, `device_online{device="${door.id}"}`);
    expect(online[0]!.values).toContain(1);
  });

  it('takes HJ 212 frames over TCP from the simulated stations, with quality tags', async () => {
    const dust = hj.entries.find((e) => e.model.includes('yc200'))!;
    const [rt] = await waitForSeries(vmUrl, `dust_pm10_ugm3{device="${dust.id}"}`);
    expect(rt!.metric.quality).toBe('N');
    expect(rt!.values[0]).toBeGreaterThan(0);
    expect(gw.deadLetters.counts().bad_crc).toBe(0);
    expect(gw.deadLetters.counts().bad_password).toBe(0);
    expect(gw.deadLetters.counts().unknown_device).toBe(0);
  });
});
