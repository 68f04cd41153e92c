import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { LOCATION, mosquittoPub, randomSuffix, startGateway } from '../support/gateway.js';
import { waitForSeries } from '../support/vm.js';

const vmUrl = inject('vmUrl');
const run = randomSuffix();
const ids = {
  wl: `wl-${run}`,
  dust: `dust-${run}`,
  door: `door-${run}`,
  air: `air-${run}`,
};

describe('ingest over the embedded broker, end to end into VictoriaMetrics', () => {
  let gw: Gateway;
  let port: number;
  let httpUrl: string;

  beforeAll(async () => {
    const started = await startGateway(
      [
        { id: ids.wl, model: 'hydrotek-wl300', attrs: { warning_level_m: 2.5, danger_level_m: 3.0 } },
        { id: ids.dust, model: 'clearsite-ds7' },
        { id: ids.door, model: 'gatekeeper-ac100' },
        { id: ids.air, model: 'airbox-aq5' },
      ],
      { GRIDGATE_TSDB__URL: vmUrl },
    );
    gw = started.gw;
    httpUrl = started.httpUrl;
    port = gw.ports.mqtt!;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('turns a vendor payload sent with mosquitto_pub into canonical points with unit, value and tags', async () => {
    const ts = Math.floor(Date.now() / 1000) - 60;
    await mosquittoPub(
      port,
      `devices/${ids.wl}/telemetry`,
      JSON.stringify({ ts, wl: 1234, rain: 0.5, bat: 3612, rssi: -87 }),
      {
        clientId: ids.wl,
      },
    );
    const [level] = await waitForSeries(vmUrl, `flood_water_level_m{device="${ids.wl}"}`);
    expect(level!.values).toEqual([1.234]);
    expect(level!.timestamps).toEqual([ts * 1000]);
    expect(level!.metric).toMatchObject({
      __name__: 'flood_water_level_m',
      device: ids.wl,
      model: 'hydrotek-wl300',
      family: 'flood',
      ...LOCATION,
    });
    const [battery] = await waitForSeries(vmUrl, `flood_battery_v{device="${ids.wl}"}`);
    expect(battery!.values).toEqual([3.612]);
    const [rssi] = await waitForSeries(vmUrl, `device_rssi_dbm{device="${ids.wl}"}`);
    expect(rssi!.values).toEqual([-87]);
  });

  it('writes one access point per event with event/door/method tags and an integer count', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: ids.door });
    // gatekeeper-ac100: numeric event codes (see its model file)
    await client.publishAsync(
      `devices/${ids.door}/event`,
      JSON.stringify({ ts: Math.floor(Date.now() / 1000), code: 5, door: 2, mode: 1 }),
      { qos: 1 },
    );
    await client.endAsync();
    const series = await waitForSeries(vmUrl, `access_count{device="${ids.door}"}`);
    expect(series[0]!.metric).toMatchObject({
      door: '2',
      event: 'door_forced',
      method: 'card',
      family: 'access',
    });
    expect(series[0]!.values).toEqual([1]);
    // the broker's connect/disconnect of the device's client became device_online points
    const online = await waitForSeries(
      vmUrl,
      `device_online{device="${ids.door}"}`,
      (s) => (s[0]?.values.length ?? 0) >= 2,
    );
    expect(online[0]!.values).toContain(1);
    expect(online[0]!.values.at(-1)).toBe(0);
  });

  it('survives hostile payloads, counts each by reason, and keeps ingesting', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `hostile-${run}` });
    const t = `devices/${ids.dust}/telemetry`;
    const hostile: (string | Buffer)[] = [
      Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37]), // invalid UTF-8
      'not json at all {',
      '{"pm": {"p10": NaN}}',
      '[1,2,3]',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`, // deep nesting, ~200 kB
      JSON.stringify({ pm: { p10: 'lots', p25: { v: 1 } }, env: { db: null } }),
      JSON.stringify({ pm: { p10: -5 } }), // below physical range
    ];
    for (const p of hostile) await client.publishAsync(t, p, { qos: 1 });
    await client.publishAsync(`devices/unknown-${run}/telemetry`, '{"wl":1}', { qos: 1 });
    await client.publishAsync(`no/such/topic/${run}`, 'x', { qos: 1 });
    await client.endAsync();
    // 1 MB > ingest.maxPayloadBytes: the broker refuses the packet from its header and drops that client
    const big = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: `big-${run}`,
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((r) => big.once('close', () => r()));
    big.publish(t, JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }), { qos: 1 });
    await closed;
    big.end(true);

    const health = await fetch(`${httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const res = (await (await fetch(`${httpUrl}/api/v1/deadletters?limit=1000`)).json()) as {
      counts: Record<string, number>;
      items: { reason: string; deviceId?: string }[];
    };
    for (const reason of [
      'invalid_utf8',
      'malformed',
      'not_an_object',
      'too_deep',
      'payload_too_large',
      'wrong_type',
      'out_of_range',
      'unknown_device',
      'unknown_topic',
    ]) {
      expect(res.counts[reason], reason).toBeGreaterThan(0);
    }
    // the stream goes on: a good reading from the same device still lands
    await mosquittoPub(port, `devices/${ids.dust}/telemetry`, JSON.stringify(validDust()), {
      clientId: ids.dust,
    });
    const [pm10] = await waitForSeries(vmUrl, `dust_pm10_ugm3{device="${ids.dust}"}`);
    expect(pm10!.values.length).toBeGreaterThan(0);
  });
});

function validDust(): Record<string, unknown> {
  return {
    t: Date.now() - 1000,
    pm: { p25: 41, p10: 88, tsp: 0.2 },
    env: { db: 61.5, ws: 7.2, wd: 270, tf: 68, rh: 40 },
  };
}
