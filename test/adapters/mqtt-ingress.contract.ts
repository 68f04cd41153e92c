/**
 * The contract every MqttIngress (embedded aedes broker, external-broker client) must meet, run by
 * one test file per implementation (after aedes-persistence's abstract.js).
 */
import mqtt from 'mqtt';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { IngressHooks, MqttIngress } from '../../adapters/mqtt/types.js';
import type { InboundMessage } from '../../processors/types.js';
import { captureLogs, defaultRoute, mosquittoPub, waitFor } from './support.js';

export interface IngressUnderTest {
  ingress: MqttIngress;
  /** Port of the broker that devices publish to (after start()). */
  devicePort(): number;
  teardown(): Promise<void>;
}

export type IngressFactory = (hooks: IngressHooks) => Promise<IngressUnderTest>;

export function mqttIngressContract(factory: IngressFactory): void {
  let sut: IngressUnderTest;
  let messages: InboundMessage[];
  let unrouted: Array<{ topic: string; size: number }>;
  let throwOnce: boolean;
  const clients: mqtt.MqttClient[] = [];

  const device = async (clientId: string) => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${sut.devicePort()}`, {
      clientId,
      reconnectPeriod: 0,
    });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    messages = [];
    unrouted = [];
    throwOnce = false;
    const { logger } = captureLogs();
    sut = await factory({
      route: defaultRoute,
      logger,
      onMessage: (m) => {
        if (throwOnce) {
          throwOnce = false;
          throw new Error('consumer bug');
        }
        messages.push(m);
      },
      onUnrouted: (topic, _clientId, size) => unrouted.push({ topic, size }),
    });
    await sut.ingress.start();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await sut.ingress.stop();
    await sut.teardown();
  });

  it('hands a mosquitto_pub publish on a device topic to onMessage as an InboundMessage', async () => {
    const before = Date.now();
    await mosquittoPub(sut.devicePort(), 'devices/d1/telemetry', '{"level_mm":1234}', {
      qos: 1,
      clientId: 'd1',
    });
    await waitFor('the message', () => messages.length === 1);
    const m = messages[0]!;
    expect(m).toMatchObject({
      transport: 'mqtt',
      kind: 'telemetry',
      deviceId: 'd1',
      topic: 'devices/d1/telemetry',
    });
    expect(m.payload.toString()).toBe('{"level_mm":1234}');
    expect(m.receivedAt).toBeGreaterThanOrEqual(before);
  });

  it('keeps payload bytes intact (QoS 0 and 1, non-UTF-8 and CJK) and maps each kind', async () => {
    const c = await device('d2');
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x7b]);
    const cjk = Buffer.from('{"站点":"鼓楼区"}');
    await c.publishAsync('devices/d2/event', binary, { qos: 0 });
    await c.publishAsync('devices/d2/status', cjk, { qos: 1 });
    await waitFor('both messages', () => messages.length === 2);
    const byKind = Object.fromEntries(messages.map((m) => [m.kind, m]));
    expect(byKind.event?.payload.equals(binary)).toBe(true);
    expect(byKind.status?.payload.equals(cjk)).toBe(true);
    expect(messages.every((m) => m.deviceId === 'd2')).toBe(true);
  });

  it('reports a publish on a topic the router does not know, and does not hand it on (each time)', async () => {
    const c = await device('d3');
    for (let i = 0; i < 2; i++) {
      await c.publishAsync('devices/d3/firmware', Buffer.alloc(17 + i), { qos: 1 });
      await c.publishAsync('devices/d3/telemetry', `{"n":${i}}`, { qos: 1 });
    }
    await waitFor('the routed messages', () => messages.length === 2);
    await waitFor('the unrouted reports', () => unrouted.length === 2);
    expect(unrouted).toEqual([
      { topic: 'devices/d3/firmware', size: 17 },
      { topic: 'devices/d3/firmware', size: 18 },
    ]);
    expect(messages.map((m) => [m.topic, m.deviceId, m.kind, m.payload.toString()])).toEqual([
      ['devices/d3/telemetry', 'd3', 'telemetry', '{"n":0}'],
      ['devices/d3/telemetry', 'd3', 'telemetry', '{"n":1}'],
    ]);
  });

  it("delivers the gateway's own publish to subscribers, never to onMessage", async () => {
    const sub = await device('watcher');
    const got: string[] = [];
    sub.on('message', (topic) => got.push(topic));
    await sub.subscribeAsync(['devices/+/status', 'alerts/#'], { qos: 1 });
    await sut.ingress.publish('devices/gw/status', 'gateway says', { qos: 1 });
    await sut.ingress.publish('alerts/flood/d1', Buffer.from('{"level":"danger"}'), { qos: 1 });
    await waitFor('the subscriber to get both', () => got.length === 2);
    // A device message after them: by the time it is handed on, an echo would have been too.
    await mosquittoPub(sut.devicePort(), 'devices/d4/telemetry', 'marker', { clientId: 'd4' });
    await waitFor('the marker', () => messages.some((m) => m.deviceId === 'd4'));
    expect(got.sort()).toEqual(['alerts/flood/d1', 'devices/gw/status']);
    expect(messages.map((m) => m.topic)).toEqual(['devices/d4/telemetry']);
  });

  it('goes on after an onMessage callback throws', async () => {
    throwOnce = true;
    const c = await device('d5');
    await c.publishAsync('devices/d5/telemetry', 'first', { qos: 1 });
    await c.publishAsync('devices/d5/telemetry', 'second', { qos: 1 });
    await waitFor('the second message', () => messages.length === 1);
    expect(messages[0]?.payload.toString()).toBe('second');
    expect(c.connected).toBe(true);
  });

  it('stop() is idempotent', async () => {
    await sut.ingress.stop();
    await expect(sut.ingress.stop()).resolves.toBeUndefined();
    await expect(sut.ingress.publish('alerts/x', 'y')).rejects.toThrow(/alerts\/x/);
  });
}
