import { once } from 'node:events';
import { connect } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ThreadedEmbeddedBroker,
  type ThreadedEmbeddedBrokerOptions,
} from '../../adapters/mqtt/threaded-broker.js';
import { captureLogs, defaultRoute, mosquittoPub, waitFor } from './support.js';

/** An MQTT 3.1.1 CONNECT (clean session, keepalive 60 s), by hand: §3.1. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** A QoS 0 PUBLISH (§3.3) of a short topic and payload. */
function publishPacket(topic: string, payload: string): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/**
 * What the broker thread adds to the MqttIngress contract (threaded-broker.contract.test.ts): one
 * ordered stream of messages and connectivity, back-pressure that loses nothing, and a new thread
 * on the same port when one dies.
 */
describe('ThreadedEmbeddedBroker', () => {
  let broker: ThreadedEmbeddedBroker | undefined;
  const clients: mqtt.MqttClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
    await broker?.stop();
    broker = undefined;
  });

  async function start(opts: Partial<ThreadedEmbeddedBrokerOptions>): Promise<ThreadedEmbeddedBroker> {
    broker = new ThreadedEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      maxPayloadBytes: 64 * 1024,
      route: defaultRoute,
      logger: captureLogs().logger,
      onMessage: () => {},
      ...opts,
    });
    await broker.start();
    return broker;
  }

  async function device(b: ThreadedEmbeddedBroker, clientId: string): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  }

  it('reports a device online before its messages and offline after its last one, in one ordered stream', async () => {
    const seen: string[] = [];
    const b = await start({
      onMessage: (m) => {
        // A busy pipeline: batches wait on this side while the thread goes on.
        const until = performance.now() + 0.02;
        while (performance.now() < until);
        seen.push(`${m.clientId}:${m.payload.toString()}`);
      },
      onConnectivity: (id, online) => seen.push(`${id}:${online ? 'online' : 'offline'}`),
    });
    // After the CONNACK, 2,000 PUBLISHes and FIN in one write: the thread reads them in slices,
    // hands them over in several batches, and sees the end while this side is still busy with them.
    const socket = connect(b.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(connectPacket('d1'));
    await once(socket, 'data');
    const publishes = Array.from({ length: 2000 }, (_, i) =>
      publishPacket('devices/d1/telemetry', String(i)),
    );
    socket.end(Buffer.concat(publishes));
    await waitFor('offline', () => seen.includes('d1:offline'));
    expect(seen).toEqual(['d1:online', ...Array.from({ length: 2000 }, (_, i) => `d1:${i}`), 'd1:offline']);
  });

  it('holds the reads while the pipeline lags, and loses or reorders nothing (QoS 0)', async () => {
    const got: number[] = [];
    const b = await start({
      onMessage: (m) => {
        // A slow pipeline: ~100 µs per message.
        const until = performance.now() + 0.1;
        while (performance.now() < until);
        got.push(Number(m.payload.toString()));
      },
    });
    const c = await device(b, 'fast');
    const n = 30_000;
    // In spells, so that the broker's thread reads many batches, more than the credit window;
    // one burst is read in a few large ones.
    for (let i = 0; i < n; i++) {
      c.publish('devices/fast/telemetry', String(i), { qos: 0 });
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor('every message', () => got.length === n, 30_000);
    expect(got.every((v, i) => v === i)).toBe(true);
    await waitFor('holds reported', () => b.holds > 0, 5_000);
  });

  it('starts a new thread on the same port when its thread dies; clients are reported offline and can come back', async () => {
    const seen: string[] = [];
    const b = await start({
      onMessage: (m) => seen.push(`msg:${m.payload.toString()}`),
      onConnectivity: (id, online) => seen.push(`${id}:${online ? 'online' : 'offline'}`),
    });
    const port = b.port;
    const c = await device(b, 'd2');
    await c.publishAsync('devices/d2/telemetry', 'before', { qos: 1 });
    await waitFor('first message', () => seen.includes('msg:before'));
    const old = b.thread!;
    await old.terminate();
    await waitFor('offline', () => seen.includes('d2:offline'));
    await waitFor('a new thread', () => b.thread !== undefined && b.thread !== old, 10_000);
    expect(b.port).toBe(port);
    // mosquitto_pub, until the new thread listens (it is refused while the port is free).
    const deadline = Date.now() + 10_000;
    while (!seen.includes('msg:after') && Date.now() < deadline) {
      await mosquittoPub(port, 'devices/d3/telemetry', 'after', { qos: 1, clientId: 'd3' }).catch(
        () => undefined,
      );
      await waitFor('the message', () => seen.includes('msg:after'), 500).catch(() => undefined);
    }
    expect(seen).toContain('msg:after');
    expect(seen.indexOf('d2:offline')).toBeLessThan(seen.indexOf('msg:after'));
  });
});
