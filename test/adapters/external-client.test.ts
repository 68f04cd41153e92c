import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ExternalBrokerClient,
  type ExternalBrokerClientOptions,
} from '../../adapters/mqtt/external-client.js';
import type { InboundMessage } from '../../processors/types.js';
import { freePort, type RunningService, startMosquitto } from '../../scripts/services.js';
import { captureLogs, defaultRoute, mosquittoPub, waitFor } from './support.js';

describe('ExternalBrokerClient against a real mosquitto', () => {
  let dir: string;
  let mosquitto: RunningService;
  let gw: ExternalBrokerClient | undefined;
  let messages: InboundMessage[];

  const make = (extra: Partial<ExternalBrokerClientOptions> = {}) =>
    new ExternalBrokerClient({
      url: mosquitto.url,
      topics: ['devices/+/telemetry', 'devices/+/event', 'devices/+/status'],
      clientId: `gridgate-persist-${process.pid}`,
      route: defaultRoute,
      logger: captureLogs().logger,
      onMessage: (m) => messages.push(m),
      connectTimeoutMs: 5000,
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
      ...extra,
    });

  beforeEach(async () => {
    messages = [];
    dir = await mkdtemp(join(tmpdir(), 'gg-mosq-'));
    mosquitto = await startMosquitto(dir);
  });

  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await mosquitto.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('receives QoS 1 messages published while it was disconnected (persistent session)', async () => {
    gw = make();
    await gw.start();
    await gw.stop();
    for (const n of [1, 2, 3]) {
      await mosquittoPub(mosquitto.port, `devices/g${n}/telemetry`, `{"n":${n}}`, {
        qos: 1,
        clientId: `g${n}`,
      });
    }
    expect(messages).toEqual([]);
    await gw.start();
    await waitFor('the three queued messages', () => messages.length === 3);
    expect(messages.map((m) => [m.deviceId, m.kind, m.payload.toString()]).sort()).toEqual([
      ['g1', 'telemetry', '{"n":1}'],
      ['g2', 'telemetry', '{"n":2}'],
      ['g3', 'telemetry', '{"n":3}'],
    ]);
    expect(gw.stats.resubscribes).toBe(1); // the broker kept the session: no second SUBSCRIBE
  });

  it('takes a queued backlog bigger than the hand-over high-water mark, in order', async () => {
    // The session's backlog arrives at once, past the client thread's 1 MiB high-water mark while
    // the channel still has credit: the thread must go on reading, not wait for credit it holds.
    const n = 2500;
    gw = make({ clientId: `gridgate-backlog-${process.pid}` });
    await gw.start();
    await gw.stop();
    const dev = await mqtt.connectAsync(mosquitto.url, { clientId: 'backlog-dev' });
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        dev.publishAsync('devices/backlog/telemetry', JSON.stringify({ i, pad: 'x'.repeat(1000) }), {
          qos: 1,
        }),
      ),
    );
    await dev.endAsync();
    await gw.start();
    await waitFor('the whole backlog', () => messages.length === n, 20_000);
    const order = messages.map((m) => (JSON.parse(m.payload.toString()) as { i: number }).i);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('reconnects after the broker restarts and subscribes again when the session was lost', async () => {
    gw = make();
    await gw.start();
    const port = mosquitto.port;
    await mosquitto.stop(); // persistence false: the restarted broker has no session for us
    await waitFor('the client to notice', () => !gw!.connected);
    mosquitto = await startMosquitto(dir, port);
    await waitFor('the reconnect', () => gw!.connected && gw!.stats.resubscribes === 2, 15_000);
    // The SUBACK may trail the CONNACK: publish until one arrives (QoS 1 at a subscriber-less broker is dropped).
    const deadline = Date.now() + 10_000;
    while (messages.length === 0 && Date.now() < deadline) {
      await mosquittoPub(port, 'devices/r1/event', '{"door":"forced"}', { qos: 1, clientId: 'r1' });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(messages[0]).toMatchObject({ deviceId: 'r1', kind: 'event', topic: 'devices/r1/event' });
    expect(gw.stats.connects).toBe(2);
  });

  it('delivers a QoS 1 burst in order to a slow consumer', async () => {
    const n = 3000;
    gw = make({
      clientId: `gridgate-burst-${process.pid}`,
      onMessage: (m) => {
        const until = performance.now() + 0.05; // 50 µs of work per message
        while (performance.now() < until);
        messages.push(m);
      },
    });
    await gw.start();
    const dev = await mqtt.connectAsync(mosquitto.url, { clientId: 'burst-dev' });
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        dev.publishAsync('devices/burst/telemetry', JSON.stringify({ i, pad: 'x'.repeat(200) }), { qos: 1 }),
      ),
    );
    await dev.endAsync();
    await waitFor('every message', () => messages.length === n, 20_000);
    const order = messages.map((m) => (JSON.parse(m.payload.toString()) as { i: number }).i);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(gw.stats.messages).toBe(n);
  });

  it('loses no QoS 1 message across a stop() under load', async () => {
    const n = 6000;
    const clientId = `gridgate-stop-${process.pid}`;
    let stopping: Promise<void> | undefined;
    const slow = (m: InboundMessage) => {
      const until = performance.now() + 0.2;
      while (performance.now() < until);
      messages.push(m);
      // Stop from inside the stream, while the thread still holds messages it has acknowledged.
      if (messages.length === 500) stopping = gw?.stop();
    };
    gw = make({ clientId, onMessage: slow });
    await gw.start();
    const dev = await mqtt.connectAsync(mosquitto.url, { clientId: 'stop-dev' });
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        dev.publishAsync('devices/stop/telemetry', JSON.stringify({ i }), { qos: 1 }),
      ),
    );
    await dev.endAsync();
    await waitFor('the stop', () => stopping !== undefined);
    await stopping;
    // Whatever the first session acknowledged it delivered; the broker redelivers the rest.
    gw = make({ clientId, onMessage: (m) => messages.push(m) });
    await gw.start();
    const seen = () => new Set(messages.map((m) => (JSON.parse(m.payload.toString()) as { i: number }).i));
    await waitFor('every message in one session or the other', () => seen().size === n, 20_000);
    expect(seen().size).toBe(n);
  });

  it('replaces a client thread that dies, reconnects and goes on receiving', async () => {
    const logs = captureLogs();
    gw = make({ logger: logs.logger, clientId: `gridgate-dies-${process.pid}` });
    await gw.start();
    // The thread is private; ending it from outside stands in for a crash inside it.
    const conn = (gw as unknown as { client: { thread: { terminate(): Promise<number> } } }).client;
    await conn.thread.terminate();
    await waitFor('a reconnect', () => gw!.stats.connects === 2, 10_000);
    expect(logs.entries.some((e) => e.msg === 'mqtt connection closed; will reconnect')).toBe(true);
    await mosquittoPub(mosquitto.port, 'devices/after/telemetry', '{"ok":1}', { clientId: 'after', qos: 1 });
    await waitFor('the message after the restart', () => messages.some((m) => m.deviceId === 'after'));
  });

  it('subscribes again when a dropped connection cut off its SUBSCRIBE', async () => {
    // A TCP proxy in front of mosquitto: on the first connection it passes the CONNECT and the
    // CONNACK, then drops the connection at the client's next packet, the SUBSCRIBE. The broker
    // keeps the session it made at CONNECT, so the reconnect finds sessionPresent true.
    let connections = 0;
    const proxy = createNetServer((client) => {
      const first = ++connections === 1;
      const upstream = connect(mosquitto.port, '127.0.0.1');
      let chunks = 0;
      client.on('data', (d) => {
        if (first && ++chunks > 1) {
          client.destroy();
          upstream.destroy();
        } else upstream.write(d);
      });
      upstream.on('data', (d) => client.write(d));
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        a.on('error', () => b.destroy());
        a.on('close', () => b.destroy());
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as AddressInfo;
      gw = make({
        url: `mqtt://127.0.0.1:${port}`,
        clientId: `gridgate-cut-${process.pid}`,
      });
      await gw.start();
      expect(connections).toBe(2);
      await mosquittoPub(mosquitto.port, 'devices/cut/telemetry', '{"ok":1}', { clientId: 'cut', qos: 1 });
      await waitFor('the message', () => messages.some((m) => m.deviceId === 'cut'));
    } finally {
      await gw?.stop();
      gw = undefined;
      proxy.close();
    }
  });

  it('start() rejects with the URL and the cause when no broker answers', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    // Long enough for the client thread to start on a loaded machine: the refusal is what it reports.
    const c = make({ url, connectTimeoutMs: 3000 });
    const err = await c.start().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(url);
    expect(err?.message).toMatch(/ECONNREFUSED/);
    expect(c.connected).toBe(false);
  });
});
