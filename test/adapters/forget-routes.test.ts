/**
 * MqttIngress.forgetRoutes: after the device models' topics change, every MQTT edge routes and
 * checks the next message afresh, and a client of an external broker follows the new filters.
 * Real aedes (on its thread), real mosquitto, real mosquitto_pub and mqtt.js clients.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, PublishPacket } from 'aedes';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeviceAuth } from '../../adapters/mqtt/device-auth.js';
import { ExternalBrokerClient } from '../../adapters/mqtt/external-client.js';
import { ThreadedEmbeddedBroker } from '../../adapters/mqtt/threaded-broker.js';
import type { RoutedTopic } from '../../adapters/mqtt/types.js';
import type { DeviceModel } from '../../processors/devices/define.js';
import hydrotek from '../../processors/devices/flood/hydrotek-wl300.js';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import type { InboundMessage } from '../../processors/types.js';
import { type RunningService, startMosquitto } from '../../scripts/services.js';
import { captureLogs, defaultRoute, mosquittoPub, waitFor } from './support.js';

/** The router after a reload that moved devices to acme/{deviceId}/data. */
function acmeRoute(topic: string): RoutedTopic | undefined {
  const m = /^acme\/([^/]+)\/data$/.exec(topic);
  return m ? { deviceId: m[1]!, kind: 'telemetry' } : undefined;
}

describe('ThreadedEmbeddedBroker.forgetRoutes', () => {
  let broker: ThreadedEmbeddedBroker;
  let route: (topic: string) => RoutedTopic | undefined;
  let messages: InboundMessage[];
  /** authorizePublish calls: an empty payload is the thread asking, a full one the per-message re-check. */
  let checks: { topic: string; asked: boolean }[];

  beforeEach(async () => {
    messages = [];
    checks = [];
    route = defaultRoute;
    broker = new ThreadedEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      maxPayloadBytes: 65_536,
      route: (t) => route(t),
      onMessage: (m) => messages.push(m),
      authorizePublish: (_c: Client, p: PublishPacket) => {
        checks.push({ topic: p.topic, asked: p.payload.length === 0 });
        return true;
      },
      logger: captureLogs().logger,
    });
    await broker.start();
  });

  afterEach(async () => {
    await broker.stop();
  });

  it('routes a topic it remembered as routing nowhere, once told the router changed', async () => {
    const port = broker.port;
    await mosquittoPub(port, 'acme/d1/data', '{"n":1}');
    await waitFor('the unrouted message', () => broker.stats.unrouted === 1);

    route = acmeRoute;
    // Remembered: the new router is not asked until the ingress is told.
    await mosquittoPub(port, 'acme/d1/data', '{"n":2}');
    await waitFor('the second unrouted message', () => broker.stats.unrouted === 2);
    expect(messages).toEqual([]);

    await broker.forgetRoutes();
    await mosquittoPub(port, 'acme/d1/data', '{"n":3}');
    await waitFor('the routed message', () => messages.length === 1);
    expect(messages[0]).toMatchObject({ deviceId: 'd1', kind: 'telemetry', topic: 'acme/d1/data' });
    expect(String(messages[0]!.payload)).toBe('{"n":3}');
    expect(broker.stats.unrouted).toBe(2);
  });

  it('forgets the topics each connection was allowed on: the next publish on one is asked again', async () => {
    route = acmeRoute;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'd1' });
    try {
      await client.publishAsync('acme/d1/data', 'a', { qos: 1 });
      await client.publishAsync('acme/d1/data', 'b', { qos: 1 });
      await waitFor('two messages', () => messages.length === 2);
      // One ask for the connection's first publish on the topic, then the re-check of each message.
      expect(checks.filter((c) => c.asked)).toHaveLength(1);

      await broker.forgetRoutes();
      await client.publishAsync('acme/d1/data', 'c', { qos: 1 });
      await waitFor('the third message', () => messages.length === 3);
      expect(checks.filter((c) => c.asked)).toHaveLength(2);
      expect(client.connected).toBe(true);
    } finally {
      await client.endAsync();
    }
  });
});

describe('ExternalBrokerClient.forgetRoutes', () => {
  let dir: string;
  let mosquitto: RunningService;
  let client: ExternalBrokerClient;
  let route: (topic: string) => RoutedTopic | undefined;
  let messages: InboundMessage[];

  beforeEach(async () => {
    messages = [];
    route = defaultRoute;
    dir = await mkdtemp(join(tmpdir(), 'gg-mosq-'));
    mosquitto = await startMosquitto(dir);
    client = new ExternalBrokerClient({
      url: mosquitto.url,
      topics: ['devices/+/+'],
      clientId: `gridgate-forget-${process.pid}`,
      route: (t) => route(t),
      onMessage: (m) => messages.push(m),
      logger: captureLogs().logger,
      connectTimeoutMs: 5000,
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
    });
  });

  afterEach(async () => {
    await client.stop();
    await mosquitto.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Publishes on the old topic, then the new one; once the new one is in, the old one would have been too. */
  async function publishOldThenNew(n: number): Promise<void> {
    await mosquittoPub(mosquitto.port, 'devices/d1/telemetry', `{"old":${n}}`, { clientId: 'd1-old' });
    await mosquittoPub(mosquitto.port, 'acme/d1/data', `{"new":${n}}`, { clientId: 'd1-new' });
    await waitFor('the message on the new topic', () =>
      messages.some((m) => String(m.payload) === `{"new":${n}}`),
    );
  }

  it('subscribes to the new filters and leaves the ones no longer needed, while connected', async () => {
    await client.start();
    await mosquittoPub(mosquitto.port, 'devices/d1/telemetry', '{"old":0}', { clientId: 'd1-old' });
    await waitFor('the message on the old topic', () => messages.length === 1);

    route = acmeRoute;
    await client.forgetRoutes(['acme/+/+']);
    await publishOldThenNew(1);
    expect(messages.map((m) => [m.topic, m.deviceId, String(m.payload)])).toEqual([
      ['devices/d1/telemetry', 'd1', '{"old":0}'],
      ['acme/d1/data', 'd1', '{"new":1}'],
    ]);
    expect(client.stats.unrouted).toBe(0);
  });

  it('follows filters changed while disconnected when it connects to the session the broker kept', async () => {
    await client.start();
    await client.stop();
    route = acmeRoute;
    await client.forgetRoutes(['acme/+/+']);
    await client.start();
    await publishOldThenNew(1);
    expect(messages.map((m) => m.topic)).toEqual(['acme/d1/data']);
    expect(client.stats.unrouted).toBe(0);
  });
});

describe('device ACL after a models reload', () => {
  // What DeviceAuth reads of a registry record.
  const device = { id: 'wl-1', model: hydrotek.id, state: 'active' } as DeviceRecord;

  it('a connected device gets its model’s new topics, although the model id is the same', async () => {
    let model: DeviceModel = hydrotek;
    const auth = createDeviceAuth({
      devices: { get: (id) => (id === device.id ? device : undefined) },
      credentials: { check: async () => ({ cost: 'fast', verify: async (s) => s === 'secret' }) },
      models: { get: (id) => (id === model.id ? model : undefined) },
      required: true,
      maxFailures: 5,
      lockoutS: 60,
      maxTopicDepth: 8,
      logger: captureLogs().logger,
    });
    const client = { id: device.id, conn: { remoteAddress: '127.0.0.1' } } as unknown as Client;
    const packet = (topic: string) =>
      ({
        cmd: 'publish',
        topic,
        payload: Buffer.from('{}'),
        qos: 0,
        retain: false,
        dup: false,
      }) as PublishPacket;
    expect(await auth.authenticate(client, device.id, Buffer.from('secret'))).toBe(true);
    expect(auth.authorizePublish(client, packet('devices/wl-1/telemetry'))).toBe(true);

    model = { ...hydrotek, topics: { ...hydrotek.topics, telemetry: 'acme/{deviceId}/data' } };
    expect(auth.authorizePublish(client, packet('acme/wl-1/data'))).toBe(true);
    expect(auth.authorizePublish(client, packet('devices/wl-1/telemetry'))).toBe(false);
    expect(auth.stats.publishDenied.foreign_topic).toBe(1);
  });
});
