import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Hj212Server, type Hj212ServerOptions } from '../../adapters/hj212/tcp-server.js';
import { InfluxWriter } from '../../adapters/tsdb/influx-writer.js';
import type { Rejection } from '../../processors/errors.js';
import { buildFrame } from '../../processors/hj212/frame.js';
import type { InboundMessage } from '../../processors/types.js';
import { freePort } from '../../scripts/services.js';
import { READINGS } from '../support/line-readings.js';
import { mqttBridge, TestClient, until } from './support.js';

const REGISTRY: Record<string, { deviceId: string; password?: string }> = {
  MN0000000000000000000001: { deviceId: 'dust-1', password: 'pw-one' },
  MN0000000000000000000002: { deviceId: 'dust-2', password: 'pw-two' },
  MN0000000000000000000003: { deviceId: 'air-3' }, // no password registered: any PW accepted
};

let qn = 0;
function seg(mn: string, pw: string, opts: { cn?: string; flag?: number; cp?: string } = {}): string {
  const q = `20260101080000${String(++qn % 1000).padStart(3, '0')}`;
  return `QN=${q};ST=22;CN=${opts.cn ?? '2011'};PW=${pw};MN=${mn};Flag=${opts.flag ?? 5};CP=&&${opts.cp ?? 'DataTime=20260101080000;a34002-Rtd=80,a34002-Flag=N'}&&`;
}
const MN1 = 'MN0000000000000000000001';
const MN2 = 'MN0000000000000000000002';
const MN3 = 'MN0000000000000000000003';

interface Harness {
  server: Hj212Server;
  messages: InboundMessage[];
  rejects: Rejection[];
  status: [string, boolean][];
}

let current: Hj212Server | undefined;
const clients: TestClient[] = [];

async function startServer(extra: Partial<Hj212ServerOptions> = {}): Promise<Harness> {
  const h: Omit<Harness, 'server'> = { messages: [], rejects: [], status: [] };
  const server = new Hj212Server({
    host: '127.0.0.1',
    port: 0,
    lookup: (mn) => REGISTRY[mn],
    onMessage: (m) => h.messages.push(m),
    onReject: (r) => h.rejects.push(r),
    onStatus: (id, online) => h.status.push([id, online]),
    logger: pino({ level: 'silent' }),
    ...extra,
  });
  await server.start();
  current = server;
  return { server, ...h };
}

async function client(port: number): Promise<TestClient> {
  const c = await TestClient.open(port);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await current?.stop();
  current = undefined;
});

describe('Hj212Server over real TCP', () => {
  it('takes frames from several stations, answers 9014 with the same QN, and reports them online', async () => {
    const h = await startServer();
    expect(h.server.port).toBeGreaterThan(0);
    const [c1, c2, c3] = await Promise.all([
      client(h.server.port),
      client(h.server.port),
      client(h.server.port),
    ]);
    const s1 = seg(MN1, 'pw-one');
    await c1!.write(buildFrame(s1));
    await c2!.write(buildFrame(seg(MN2, 'pw-two')));
    await c3!.write(buildFrame(seg(MN3, 'whatever', { flag: 4 }))); // Flag=4: no answer wanted
    await until(() => h.messages.length === 3, '3 messages');
    const m1 = h.messages.find((m) => m.deviceId === 'dust-1');
    expect(m1).toMatchObject({ transport: 'hj212', kind: 'telemetry', topic: `hj212/${MN1}/2011` });
    expect(m1?.payload.toString('latin1')).toBe(s1);
    await until(() => c1!.responses.length === 1 && c2!.responses.length === 1, '9014 responses');
    expect(c1!.responses[0]).toMatchObject({ cn: '9014', st: '91', mn: MN1, qn: s1.slice(3, 20), flag: 4 });
    expect(c3!.responses).toEqual([]);
    expect(h.rejects).toEqual([]);
    expect(h.status.map(([id]) => id).sort()).toEqual(['air-3', 'dust-1', 'dust-2']);
    c2!.close();
    await until(() => h.status.some(([id, on]) => id === 'dust-2' && !on), 'dust-2 offline');
  });

  it('counts each bad frame and keeps the connection and the other stations going', async () => {
    const h = await startServer();
    const a = await client(h.server.port);
    const b = await client(h.server.port);

    const badCrc = buildFrame(seg(MN1, 'pw-one'));
    badCrc[badCrc.length - 3] = badCrc[badCrc.length - 3] === 0x30 ? 0x31 : 0x30;
    await a.write(badCrc);
    const wrongLen = buildFrame(seg(MN1, 'pw-one'));
    wrongLen.write('0042', 2, 'latin1');
    await a.write(wrongLen);
    const truncated = buildFrame(seg(MN1, 'pw-one')).subarray(0, 50);
    await a.write(Buffer.concat([truncated, buildFrame(seg(MN1, 'pw-one'))])); // 1 good
    const split = buildFrame(seg(MN1, 'pw-one'));
    await a.write(split.subarray(0, 17));
    await new Promise((r) => setTimeout(r, 20));
    await a.write(split.subarray(17)); // 1 good
    await a.write(Buffer.concat([buildFrame(seg(MN1, 'pw-one')), buildFrame(seg(MN1, 'pw-one'))])); // 2 good
    await a.write(buildFrame(seg(MN1, 'pw-one', { cp: 'DataTime=20260101080000;zz999-Rtd=1' }))); // forwarded; the decoder counts the code
    await a.write(buildFrame(seg(MN1, 'wrong')));
    await a.write(buildFrame(seg('MN_NOT_REGISTERED', 'pw')));
    await a.write('AT+CIPSEND\r\n');
    await b.write(buildFrame(seg(MN2, 'pw-two')));

    await until(() => h.messages.length === 6, '6 messages');
    await until(() => h.rejects.length === 6, '6 rejects');
    expect(h.rejects.map((r) => r.reason)).toEqual([
      'bad_crc',
      'bad_length',
      'malformed', // truncated
      'bad_password',
      'unknown_device',
      'malformed', // garbage
    ]);
    // Rejects of frames that cannot name their sender carry the device the connection already proved.
    expect(h.rejects[5]?.deviceId).toBe('dust-1');
    expect(h.rejects[3]?.detail).not.toContain('wrong');
    expect(h.rejects[4]?.topic).toBe('hj212/MN_NOT_REGISTERED/2011');
    expect(h.server.stats().rejects).toMatchObject({
      bad_crc: 1,
      bad_length: 1,
      malformed: 2,
      bad_password: 1,
      unknown_device: 1,
    });
    expect(h.messages.filter((m) => m.deviceId === 'dust-2')).toHaveLength(1);
    // Only accepted frames are answered: 5 on a, none for the bad PW or unknown MN.
    await until(() => a.responses.length === 5, '5 responses on a');
    expect(a.closed).toBe(false);

    await a.write(buildFrame(seg(MN1, 'pw-one')));
    await until(() => h.messages.length === 7, 'the connection still works');
  });

  it('closes a connection after repeated wrong passwords', async () => {
    const h = await startServer({ maxAuthFailures: 3 });
    const a = await client(h.server.port);
    const b = await client(h.server.port);
    for (let i = 0; i < 3; i++) await a.write(buildFrame(seg(MN1, 'guess')));
    await until(() => a.closed, 'connection closed');
    expect(h.rejects.filter((r) => r.reason === 'bad_password')).toHaveLength(3);
    await b.write(buildFrame(seg(MN1, 'pw-one')));
    await until(() => h.messages.length === 1, 'other connection unaffected');
  });

  it('closes idle connections and refuses connections beyond maxConnections', async () => {
    const h = await startServer({ idleTimeoutMs: 150, maxConnections: 2 });
    const a = await client(h.server.port);
    await client(h.server.port);
    const third = await client(h.server.port);
    await until(() => third.closed, 'third connection refused');
    expect(h.server.stats().dropped).toBeGreaterThanOrEqual(1);
    await until(() => a.closed, 'idle connection closed');
  });

  it('stop() closes every connection', async () => {
    const h = await startServer();
    const a = await client(h.server.port);
    await a.write(buildFrame(seg(MN1, 'pw-one')));
    await until(() => h.messages.length === 1, 'message');
    await h.server.stop();
    current = undefined;
    await until(() => a.closed, 'client closed');
    expect(h.status).toContainEqual(['dust-1', false]);
  });
});

describe('9014 once durable', () => {
  it('answers only after the reading is in the database or the spool: here, the spool of a dead database', async () => {
    const writer = new InfluxWriter({
      url: `http://127.0.0.1:${await freePort()}`, // nothing listens: every write fails
      org: 'gridgate',
      bucket: 'test',
      batchSize: 100,
      flushIntervalMs: 50,
      logger: pino({ level: 'silent' }),
      spool: {
        dir: join(mkdtempSync(join(tmpdir(), 'gg-hj-spool-')), 'spool'),
        maxMB: 8,
        fsync: 'always',
        fsyncIntervalMs: 1000,
      },
    });
    try {
      let spooledWhenAnswered: number | undefined;
      const h = await startServer({
        onMessage: () => writer.write(READINGS[0]!),
        settled: () => writer.settled(),
      });
      const c = await client(h.server.port);
      await c.write(buildFrame(seg(MN1, 'pw-one')));
      await until(() => {
        if (c.responses.length === 0) return false;
        spooledWhenAnswered = writer.stats.linesSpooled;
        return true;
      }, 'the 9014');
      // The write failed, the line went to the spool; then the answer.
      expect(writer.stats.batchesFailed).toBe(1);
      expect(spooledWhenAnswered).toBe(1);
      expect(writer.spooledLines).toBe(1);
    } finally {
      await writer.stop();
    }
  });
});

describe('HJ 212 over MQTT', () => {
  it('deframes several frames from one payload, with rejects and 9014 responses', async () => {
    const good1 = seg(MN1, 'pw-one');
    const payload = Buffer.concat([
      buildFrame(good1),
      Buffer.from('junk'),
      buildFrame(seg(MN1, 'bad')),
      buildFrame(seg(MN1, 'pw-one', { cn: '2051', flag: 4, cp: 'DataTime=20260101080000;a34002-Avg=80' })),
      buildFrame(seg(MN3, 'x')),
    ]);
    const mqtt = mqttBridge((mn) => REGISTRY[mn]);
    await mqtt.send(MN1, payload, 1234);
    expect(mqtt.messages.map((m) => [m.deviceId, m.topic, m.receivedAt])).toEqual([
      ['dust-1', `hj212/${MN1}/2011`, 1234],
      ['dust-1', `hj212/${MN1}/2051`, 1234],
    ]);
    expect(mqtt.messages[0]?.payload.toString('latin1')).toBe(good1);
    expect(mqtt.rejects.map((x) => [x.reason, x.topic])).toEqual([
      ['malformed', `hj212/${MN1}`],
      ['bad_password', `hj212/${MN1}`],
      ['unknown_device', `hj212/${MN1}`],
    ]);
    // Another MN than the topic's is refused whatever its PW: the topic ACL authenticated the DTU.
    expect(mqtt.rejects[2]?.detail).toBe(`frame MN ${MN3} does not match the topic's MN ${MN1}; refused`);
    expect(mqtt.published).toHaveLength(1);
    expect(mqtt.published[0]?.topic).toBe(`hj212/${MN1}/response`);
    expect(mqtt.published[0]?.frame.toString('latin1')).toContain('CN=9014');
  });
});
