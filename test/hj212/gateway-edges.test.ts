import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { buildFrame } from '../../processors/hj212/frame.js';
import { formatLocalCompact } from '../../processors/time.js';
import { mosquittoPub, startGateway } from '../support/gateway.js';
import { exportSeries, forceFlush, waitForSeries } from '../support/vm.js';
import { TestClient, until } from './support.js';

/**
 * The HJ 212 edge of a whole gateway, as stations and DTUs reach it: real TCP, real mosquitto_pub
 * into the embedded broker, readings read back from the suite's VictoriaMetrics.
 */

const vmUrl = inject('vmUrl');
const run = Math.random().toString(36).slice(2, 8).toUpperCase();
const MN = {
  dup: `DUP${run}000000000001`,
  drift: `DRIFT${run}0000000002`,
  mqtt: `MQTT${run}00000000003`,
  stranger: `STRANGER${run}0000004`,
};
const ids = { dup: `hj-dup-${run}`, drift: `hj-drift-${run}`, mqtt: `hj-mqtt-${run}` };

let gw: Gateway;
let httpUrl: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  ({ gw, httpUrl } = await startGateway(
    [
      { id: ids.dup, model: 'sinodust-yc200-hj212', hj212: { mn: MN.dup, password: 'pw-dup' } },
      { id: ids.drift, model: 'sinodust-yc200-hj212', hj212: { mn: MN.drift, password: 'pw-drift' } },
      { id: ids.mqtt, model: 'sinodust-yc200-hj212', hj212: { mn: MN.mqtt, password: 'pw-mqtt' } },
    ],
    { GRIDGATE_TSDB__URL: vmUrl, GRIDGATE_HJ212__ENABLED: 'true', GRIDGATE_HJ212__PORT: '0' },
  ));
});
afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
});

async function station(): Promise<TestClient> {
  const c = await TestClient.open(gw.ports.hj212!);
  clients.push(c);
  return c;
}

function segment(mn: string, pw: string, qn: string, dataTime: string, pm10: number): string {
  return `QN=${qn};ST=22;CN=2011;PW=${pw};MN=${mn};Flag=5;CP=&&DataTime=${dataTime};a34002-Rtd=${pm10},a34002-Flag=N&&`;
}

/** DataTime and QN as a station with a correct clock stamps them (China Standard Time). */
function stamp(at = Date.now()): { dataTime: string; qn: string } {
  const dataTime = formatLocalCompact(at);
  return { dataTime, qn: `${dataTime}${String(at % 1000).padStart(3, '0')}` };
}

describe('a resent request (same MN and QN)', () => {
  it('is stored once and acknowledged every time, on the same or a new connection', async () => {
    const c = await station();
    // A first request brings the station online (a reading of its own), so the count below is only readings.
    const first = stamp(Date.now() - 1000);
    await c.write(buildFrame(segment(MN.dup, 'pw-dup', first.qn, first.dataTime, 80)));
    await until(() => c.responses.length === 1, 'the first 9014');
    const { dataTime, qn } = stamp();
    const frame = buildFrame(segment(MN.dup, 'pw-dup', qn, dataTime, 81.5));
    const readingsBefore = gw.pipeline.counters.readings;
    // Three frames with the same QN in one TCP write: the station missed two 9014s.
    await c.write(Buffer.concat([frame, frame, frame]));
    await until(() => c.responses.length === 4, 'three 9014 responses');
    expect(c.responses.slice(1).map((r) => [r.cn, r.qn])).toEqual([
      ['9014', qn],
      ['9014', qn],
      ['9014', qn],
    ]);
    expect(gw.pipeline.counters.readings - readingsBefore).toBe(1);
    expect(gw.hj212!.stats().duplicates).toBe(2);

    // A station that reconnects before resending is still recognised.
    const again = await station();
    await again.write(frame);
    await until(() => again.responses.length === 1, 'the 9014 on the new connection');
    expect(again.responses[0]?.qn).toBe(qn);
    expect(gw.pipeline.counters.readings - readingsBefore).toBe(1);

    // A new request from the same station is a new reading.
    const next = stamp(Date.now() + 1000);
    await c.write(buildFrame(segment(MN.dup, 'pw-dup', next.qn, next.dataTime, 82.5)));
    await until(() => c.responses.length === 5, 'the 9014 of the next request');
    expect(gw.pipeline.counters.readings - readingsBefore).toBe(2);

    const match = `dust_pm10_ugm3{device="${ids.dup}"}`;
    await waitForSeries(vmUrl, match, (s) => (s[0]?.values.length ?? 0) >= 3);
    await forceFlush(vmUrl);
    const [series] = await exportSeries(vmUrl, match);
    expect(series?.values).toEqual([80, 81.5, 82.5]);
  });
});

describe('a station whose clock is hours off (DataTime is China time, UTC+8)', () => {
  it('is flagged by the installer clock-drift check of devices status', async () => {
    const before = (await (await fetch(`${httpUrl}/api/v1/devices/${ids.drift}/status`)).json()) as Status;
    expect(drift(before)?.status).toBe('pending');
    expect(drift(before)?.detail).not.toMatch(/sends no timestamp/);

    // The station's clock is three hours slow: its DataTime says 3 h ago.
    const { dataTime, qn } = stamp(Date.now() - 3 * 3_600_000);
    const c = await station();
    await c.write(buildFrame(segment(MN.drift, 'pw-drift', qn, dataTime, 60)));
    await until(() => c.responses.length === 1, 'the 9014');
    const after = (await (await fetch(`${httpUrl}/api/v1/devices/${ids.drift}/status`)).json()) as Status;
    expect(drift(after)?.status).toBe('fail');
    expect(drift(after)?.detail).toMatch(/behind by 10[78]\d\d s/);
  });
});

describe('HJ 212 over MQTT: the message boundary is the frame boundary', () => {
  it('accepts a frame without its trailing CR LF from mosquitto_pub, and answers 9014', async () => {
    const dtu = await connectAsync(`mqtt://127.0.0.1:${gw.ports.mqtt}`, { clientId: `dtu-${run}` });
    const responses: string[] = [];
    dtu.on('message', (_t, p) => responses.push(p.toString('latin1')));
    await dtu.subscribeAsync(`hj212/${MN.mqtt}/response`, { qos: 1 });
    try {
      const { dataTime, qn } = stamp();
      const frame = buildFrame(segment(MN.mqtt, 'pw-mqtt', qn, dataTime, 97.25)).toString('latin1');
      expect(frame.endsWith('\r\n')).toBe(true);
      await mosquittoPub(gw.ports.mqtt!, `hj212/${MN.mqtt}`, frame.slice(0, -2));
      const [s] = await waitForSeries(vmUrl, `dust_pm10_ugm3{device="${ids.mqtt}"}`);
      expect(s?.values).toEqual([97.25]);
      const deadline = Date.now() + 10_000;
      while (responses.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(responses[0]).toMatch(new RegExp(`QN=${qn};ST=91;CN=9014`));

      // Without CR LF the CRC still decides: a corrupted one is a bad_crc, not a stored reading.
      const badCrcBefore = gw.deadLetters.counts().bad_crc ?? 0;
      const later = stamp(Date.now() + 1000);
      const bad = buildFrame(segment(MN.mqtt, 'pw-mqtt', later.qn, later.dataTime, 1)).toString('latin1');
      await mosquittoPub(gw.ports.mqtt!, `hj212/${MN.mqtt}`, `${bad.slice(0, -6)}0000`);
      await until(() => (gw.deadLetters.counts().bad_crc ?? 0) === badCrcBefore + 1, 'the bad_crc', 10_000);
    } finally {
      await dtu.endAsync();
    }
  });
});

describe('an unregistered MN', () => {
  it('is listed by GET /devices/unknown with the remote address it sent from', async () => {
    const { dataTime, qn } = stamp();
    const c = await station();
    await c.write(buildFrame(segment(MN.stranger, 'whatever', qn, dataTime, 1)));
    const remote = `127.0.0.1:${c.socket.localPort}`;
    let row: { transport: string; id: string; remote?: string } | undefined;
    const deadline = Date.now() + 10_000;
    while (!row && Date.now() < deadline) {
      const res = (await (await fetch(`${httpUrl}/api/v1/devices/unknown`)).json()) as {
        unknown: { transport: string; id: string; remote?: string }[];
      };
      row = res.unknown.find((u) => u.id === MN.stranger);
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toMatchObject({ transport: 'hj212', id: MN.stranger, remote });
  });
});

interface Status {
  checks: { name: string; status: string; detail: string }[];
}

function drift(s: Status) {
  return s.checks.find((c) => c.name === 'clock_drift');
}
