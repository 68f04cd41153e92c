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

describe('HJ 212 frames over MQTT (a DTU publishing hj212/{MN})', () => {
  it('deframes, checks CRC and PW, writes the readings, and answers 9014 on <topic>/response', async () => {
    const { buildFrame } = await import('../../processors/hj212/frame.js');
    const { mosquittoPub } = await import('../support/gateway.js');
    const mn = `DTU${Date.now() % 1_000_000}`;
    const id = `hj-dtu-${mn}`;
    const other = `OTHER${mn}`;
    const { gw } = await startGateway(
      [
        { id, model: 'sinodust-yc200-hj212', hj212: { mn, password: 'pw-212' } },
        { id: `hj-other-${mn}`, model: 'sinodust-yc200-hj212', hj212: { mn: other } },
      ],
      { GRIDGATE_TSDB__URL: vmUrl },
    );
    try {
      const mqttMod = await import('mqtt');
      const dtu = await mqttMod.default.connectAsync(`mqtt://127.0.0.1:${gw.ports.mqtt}`, {
        clientId: `dtu-${mn}`,
      });
      const responses: string[] = [];
      dtu.on('message', (_t, p) => responses.push(p.toString()));
      await dtu.subscribeAsync(`hj212/${mn}/response`, { qos: 1 });
      const china = new Date(Date.now() + 8 * 3600_000).toISOString().replace(/\D/g, '').slice(0, 14);
      const seg = (pw: string) =>
        `QN=${china}000;ST=22;CN=2011;PW=${pw};MN=${mn};Flag=5;CP=&&DataTime=${china};a34002-Rtd=123.4,a34002-Flag=N&&`;
      // a good frame, and one with the wrong PW, in one payload; then a frame with a corrupted CRC
      const good = buildFrame(seg('pw-212')).toString();
      const badPw = buildFrame(seg('wrong')).toString();
      await mosquittoPub(gw.ports.mqtt!, `hj212/${mn}`, good + badPw);
      await mosquittoPub(gw.ports.mqtt!, `hj212/${mn}`, good.replace(/[0-9A-F]{4}\r\n$/, '0000\r\n'));
      // a frame for another station on this DTU's topic is refused, even though that station has no PW
      const foreign = buildFrame(seg('x').replace(`MN=${mn}`, `MN=${other}`)).toString();
      await mosquittoPub(gw.ports.mqtt!, `hj212/${mn}`, foreign);
      const [s] = await waitForSeries(vmUrl, `dust_pm10_ugm3{device="${id}"}`);
      expect(s!.values).toEqual([123.4]);
      expect(s!.metric.quality).toBe('N');
      const counts = gw.deadLetters.counts();
      expect(counts.bad_password).toBe(1);
      expect(counts.bad_crc).toBe(1);
      const refused = gw.deadLetters.list({ reason: 'unknown_device' });
      expect(refused.at(-1)?.detail).toMatch(/does not match the topic's MN/);
      expect(refused.at(-1)?.payloadPreview).not.toContain('PW=x;');
      const deadline = Date.now() + 10_000;
      while (responses.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(responses[0]).toMatch(/CN=9014/);
      await dtu.endAsync();
    } finally {
      await gw.stop();
    }
  });
});
