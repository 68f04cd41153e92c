import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker, type EmbeddedBrokerOptions } from '../../adapters/mqtt/embedded-broker.js';
import type { InboundMessage } from '../../processors/types.js';
import { captureLogs, defaultRoute, mosquittoPub, waitFor } from './support.js';

describe('EmbeddedBroker', () => {
  let broker: EmbeddedBroker | undefined;
  const clients: mqtt.MqttClient[] = [];
  let messages: InboundMessage[] = [];
  let connectivity: Array<[string, boolean]> = [];
  let oversize: Array<{ clientId: string | undefined; topic: string; size: number }> = [];

  async function startBroker(extra: Partial<EmbeddedBrokerOptions> = {}): Promise<EmbeddedBroker> {
    messages = [];
    connectivity = [];
    oversize = [];
    broker = new EmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      maxPayloadBytes: 1024,
      route: defaultRoute,
      logger: captureLogs().logger,
      onMessage: (m) => messages.push(m),
      onConnectivity: (id, online) => connectivity.push([id, online]),
      onOversize: (clientId, topic, size) => oversize.push({ clientId, topic, size }),
      ...extra,
    });
    await broker.start();
    return broker;
  }

  async function client(clientId: string, opts: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, {
      clientId,
      reconnectPeriod: 0,
      ...opts,
    });
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker?.stop();
    broker = undefined;
  });

  it('binds a free port when given 0 and frees it on stop', async () => {
    const b = await startBroker();
    const port = b.port;
    expect(port).toBeGreaterThan(0);
    await b.stop();
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('reports connect and clean disconnect of a device client', async () => {
    await startBroker();
    const c = await client('d7');
    await waitFor('online', () => connectivity.length === 1);
    await c.endAsync();
    await waitFor('offline', () => connectivity.length === 2);
    expect(connectivity).toEqual([
      ['d7', true],
      ['d7', false],
    ]);
  });

  it('ends online when a second connection takes over a client id [MQTT-3.1.4-2]', async () => {
    await startBroker();
    await client('d10');
    await waitFor('first online', () => connectivity.length === 1);
    const second = await client('d10');
    await waitFor('takeover', () => connectivity.length === 3);
    expect(connectivity).toEqual([
      ['d10', true],
      ['d10', false],
      ['d10', true],
    ]);
    expect(second.connected).toBe(true);
  });

  it('delivers the last will as a status message when a socket drops abruptly', async () => {
    await startBroker();
    const c = await client('d8', {
      will: { topic: 'devices/d8/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: false },
    });
    await waitFor('online', () => connectivity.length === 1);
    c.stream.destroy(); // no DISCONNECT: the broker must publish the will [MQTT-3.1.2-8]
    await waitFor('the will', () => messages.length === 1);
    await waitFor('offline', () => connectivity.length === 2);
    expect(messages[0]).toMatchObject({ kind: 'status', deviceId: 'd8', clientId: 'd8' });
    expect(messages[0]?.payload.toString()).toBe('{"online":false}');
    expect(connectivity.at(-1)).toEqual(['d8', false]);
  });

  it('drops and reports an oversize publish; the sender and other clients go on', async () => {
    await startBroker();
    const sender = await client('d1');
    const watcher = await client('watcher');
    const seen: number[] = [];
    watcher.on('message', (_t, p) => seen.push(p.length));
    await watcher.subscribeAsync('devices/#', { qos: 1 });
    // QoS 1 publishAsync resolves on PUBACK: the oversize message is acknowledged, not fatal.
    await sender.publishAsync('devices/d1/telemetry', Buffer.alloc(2048, 0x61), { qos: 1, retain: true });
    await sender.publishAsync('devices/d1/telemetry', Buffer.alloc(10, 0x62), { qos: 1 });
    await waitFor('the small message', () => messages.length === 1 && seen.length === 1);
    expect(oversize).toEqual([{ clientId: 'd1', topic: 'devices/d1/telemetry', size: 2048 }]);
    expect(messages[0]?.payload.length).toBe(10);
    expect(seen).toEqual([10]);
    expect(sender.connected).toBe(true);
    expect(broker!.stats.oversize).toBe(1);
    // Not retained either: a new subscriber gets nothing retained.
    const late = await client('late');
    const retained: string[] = [];
    late.on('message', (t) => retained.push(t));
    await late.subscribeAsync('devices/#', { qos: 1 });
    await mosquittoPub(broker!.port, 'devices/d9/telemetry', 'x', { clientId: 'd9' });
    await waitFor('the marker at the late subscriber', () => retained.length >= 1);
    expect(retained).toEqual(['devices/d9/telemetry']);
  });

  it('closes a connection announcing a 100 MB packet before buffering it; others go on', async () => {
    await startBroker();
    const big = await client('big');
    const other = await client('other');
    const closed = new Promise<void>((resolve) => big.stream.once('close', () => resolve()));
    // PUBLISH fixed header with Remaining Length 0x80 0x80 0x80 0x30 = 100 663 296 bytes (MQTT 3.1.1 §2.2.3).
    const topic = Buffer.from('devices/big/telemetry');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(topic.length);
    big.stream.write(
      Buffer.concat([Buffer.from([0x30, 0x80, 0x80, 0x80, 0x30]), len, topic, Buffer.alloc(4096)]),
    );
    await closed;
    expect(oversize).toEqual([{ clientId: 'big', topic: 'devices/big/telemetry', size: 100_663_296 }]);
    expect(broker!.stats.packetTooLarge).toBe(1);
    await other.publishAsync('devices/other/telemetry', 'still here', { qos: 1 });
    await waitFor('the other client message', () => messages.length === 1);
    expect(messages[0]?.deviceId).toBe('other');
  });

  it('with a read budget, serves connections in turn and loses or reorders nothing (QoS 0 and 1)', async () => {
    // Each message costs ~20 µs, so a 1 ms budget is spent many times over and reads wait for rounds.
    await startBroker({
      readBudgetMs: 1,
      onMessage: (m) => {
        messages.push(m);
        const t = performance.now();
        while (performance.now() - t < 0.02);
      },
    });
    const n = 3000;
    const senders = await Promise.all(['f0', 'f1', 'f2'].map((id) => client(id)));
    const acked: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      senders[0]!.publish('devices/f0/telemetry', `${i}`, { qos: 0 });
      senders[1]!.publish('devices/f1/telemetry', `${i}`, { qos: 0 });
      acked.push(senders[2]!.publishAsync('devices/f2/telemetry', `${i}`, { qos: 1 }));
    }
    // A real third-party client gets through while the flood is being read.
    await mosquittoPub(broker!.port, 'devices/quiet/telemetry', 'hello', { clientId: 'quiet', qos: 0 });
    await Promise.all(acked);
    // A client that sends and disconnects at once: its last bytes are read before its end.
    const leaver = await client('f3');
    for (let i = 0; i < 500; i++) leaver.publish('devices/f3/telemetry', `${i}`, { qos: 0 });
    await leaver.endAsync();
    await waitFor('every message', () => messages.length === 3 * n + 500 + 1, 30_000);
    const seq = (id: string) => messages.filter((m) => m.deviceId === id).map((m) => Number(m.payload));
    const upTo = (k: number) => Array.from({ length: k }, (_, i) => i);
    for (const id of ['f0', 'f1', 'f2']) expect(seq(id)).toEqual(upTo(n));
    expect(seq('f3')).toEqual(upTo(500));
    expect(messages.find((m) => m.deviceId === 'quiet')?.payload.toString()).toBe('hello');
    expect(broker!.fairness?.deferred).toBeGreaterThan(0);
    expect(broker!.stats.clientErrors).toBe(0);
  });

  it('takes a QoS 2 message in once when the device sends it again (DUP) before PUBREL [MQTT-4.3.3-2]', async () => {
    await startBroker();
    const s: Socket = connect(broker!.port, '127.0.0.1');
    s.on('error', () => {});
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
    });
    // Packets as bytes: mqtt.js would never resend before the PUBREC it already has.
    const utf = (t: string) => Buffer.concat([Buffer.from([0, Buffer.byteLength(t)]), Buffer.from(t)]);
    const packet = (first: number, body: Buffer) => Buffer.concat([Buffer.from([first, body.length]), body]);
    const publish = (first: number, payload: string) =>
      packet(first, Buffer.concat([utf('devices/q2/telemetry'), Buffer.from([0, 7]), Buffer.from(payload)]));
    const answered = (bytes: number[], count: number) =>
      waitFor(`${count} x ${bytes}`, () => {
        let n = 0;
        for (let i = got.indexOf(Buffer.from(bytes)); i >= 0; i = got.indexOf(Buffer.from(bytes), i + 1)) n++;
        return n >= count;
      });
    const connack = [0x20, 2, 0, 0];
    const pubrec = [0x50, 2, 0, 7];
    const pubcomp = [0x70, 2, 0, 7];
    s.write(packet(0x10, Buffer.concat([utf('MQTT'), Buffer.from([4, 2, 0, 60]), utf('q2')])));
    await answered(connack, 1);
    s.write(publish(0x34, '{"level":1}'));
    await answered(pubrec, 1);
    s.write(publish(0x3c, '{"level":1}')); // DUP flag set, same packet id
    await answered(pubrec, 2);
    s.write(packet(0x62, Buffer.from([0, 7]))); // PUBREL
    await answered(pubcomp, 1);
    // The id is free again: a new message under it is a new message.
    s.write(publish(0x34, '{"level":2}'));
    await answered(pubrec, 3);
    await waitFor('the second message', () => messages.length >= 2);
    s.destroy();
    expect(messages.map((m) => m.payload.toString())).toEqual(['{"level":1}', '{"level":2}']);
  });

  it('survives garbage bytes and an HTTP request on the MQTT port, and counts them', async () => {
    await startBroker();
    const junk = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), // malformed Remaining Length
      Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)),
    ];
    for (const bytes of junk) {
      const s: Socket = connect(broker!.port, '127.0.0.1');
      const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
      s.on('error', () => {});
      s.write(bytes);
      await closed;
    }
    expect(broker!.stats.connectionErrors).toBeGreaterThanOrEqual(junk.length);
    await mosquittoPub(broker!.port, 'devices/d1/telemetry', '{"ok":1}', { clientId: 'd1' });
    await waitFor('a normal message afterwards', () => messages.length === 1);
  });

  it('refuses a CONNECT with the code the authenticate hook gives, and negates a refused subscription', async () => {
    await startBroker({
      authenticate: async (_c, username) => (username === 'bad' ? { code: 5 } : true),
      authorizeSubscribe: async (_c, sub) => sub.topic !== '#',
    });
    const refused = await mqtt
      .connectAsync(`mqtt://127.0.0.1:${broker!.port}`, {
        clientId: 'intruder',
        username: 'bad',
        password: 'x',
        reconnectPeriod: 0,
      })
      .then(
        () => undefined,
        (err: Error & { code?: number }) => err.code,
      );
    expect(refused).toBe(5);
    const c = await client('d1', { username: 'good', password: 'y' });
    const refusedSub = await c.subscribeAsync('#', { qos: 1 }).then(
      () => undefined,
      (err: Error & { packet?: { granted?: number[] } }) => err.packet?.granted,
    );
    expect(refusedSub).toEqual([0x80]); // SUBACK failure [MQTT-3.9.3]
    const granted = await c.subscribeAsync('devices/d1/cmd', { qos: 1 });
    expect(granted.map((g) => [g.topic, g.qos])).toEqual([['devices/d1/cmd', 1]]);
    expect(c.connected).toBe(true);
  });

  it.each([
    ['synchronously', (ok: boolean) => ok],
    ['with a promise', (ok: boolean) => Promise.resolve(ok)],
    [
      'by throwing',
      (ok: boolean) => {
        if (!ok) throw new Error('acl store unavailable');
        return true;
      },
    ],
  ])(
    'takes a publish the authorizePublish hook allows and refuses one it denies, answering %s',
    async (_how, answer) => {
      await startBroker({
        authorizePublish: (_c, packet) => answer(packet.topic === 'devices/d1/telemetry'),
      });
      const c = await client('d1');
      await c.publishAsync('devices/d1/telemetry', '{"v":1}', { qos: 1 });
      await waitFor('the allowed message', () => messages.length === 1);
      // MQTT 3.1.1 has no negative PUBACK: aedes closes the connection of a refused publish.
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      c.publish('devices/d2/telemetry', '{"v":2}', { qos: 1 });
      await closed;
      expect(messages.map((m) => m.topic)).toEqual(['devices/d1/telemetry']);
    },
  );

  it('serves MQTT over TLS when given a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-tls-'));
    try {
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      await startBroker({ tls: { cert, key } });
      const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker!.port}`, {
        clientId: 'tls1',
        reconnectPeriod: 0,
        rejectUnauthorized: false,
      });
      clients.push(c);
      await c.publishAsync('devices/tls1/telemetry', 'secure', { qos: 1 });
      await waitFor('the TLS message', () => messages.length === 1);
      expect(messages[0]?.payload.toString()).toBe('secure');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
