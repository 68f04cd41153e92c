import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashSecret } from '../../adapters/registry/secret-hash.js';
import {
  FAST_SCRYPT,
  mosquitto,
  type SecuredBroker,
  type SecurityEnv,
  securedBroker,
  securityEnv,
  waitFor,
} from './support.js';

describe.each([
  ['EmbeddedBroker', false],
  ['ThreadedEmbeddedBroker', true],
])('MQTT auth through %s', (_name, threaded) => {
  let env: SecurityEnv;
  let sb: SecuredBroker;
  let secrets: Record<string, string>;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    env = await securityEnv(inject('redisUrl'));
    secrets = await env.addDevices(['fg-a', 'fg-b', 'fg-old', 'fg-gone']);
    await env.registry.retire('fg-old', 'test');
    sb = await securedBroker(
      env,
      {
        users: [
          {
            username: 'dispatch',
            scrypt: await hashSecret('dispatch-pw', FAST_SCRYPT),
            publish: [],
            subscribe: ['alerts/#'],
          },
        ],
      },
      {},
      threaded,
    );
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await sb?.stop();
    await env?.close();
  });

  const port = () => String(sb.broker.port);

  async function device(id: string, secret = secrets[id] ?? ''): Promise<MqttClient> {
    const c = await connectAsync(`mqtt://127.0.0.1:${port()}`, {
      clientId: id,
      username: id,
      password: secret,
      reconnectPeriod: 0,
    });
    clients.push(c);
    return c;
  }

  /** The CONNACK return code an mqtt.js connect is refused with. */
  async function refusal(opts: { clientId: string; username?: string; password?: string }): Promise<number> {
    try {
      const c = await connectAsync(`mqtt://127.0.0.1:${port()}`, { ...opts, reconnectPeriod: 0 });
      clients.push(c);
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  }

  /** The SUBACK return codes (MQTT 3.1.1 §3.9.3: 0x80 = failure); mqtt.js rejects when any is 0x80. */
  async function subscribeCodes(c: MqttClient, topics: string[], qos: 0 | 1): Promise<number[]> {
    try {
      return (await c.subscribeAsync(topics, { qos })).map((g) => g.qos);
    } catch (err) {
      const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
      if (!granted) throw err;
      return granted;
    }
  }

  describe('device credentials (mosquitto_pub)', () => {
    it('lets a device in with its own id and secret, and its reading arrives', async () => {
      const r = await mosquitto('mosquitto_pub', [
        '-p',
        port(),
        '-i',
        'fg-a',
        '-u',
        'fg-a',
        '-P',
        secrets['fg-a']!,
        '-t',
        'devices/fg-a/telemetry',
        '-m',
        '{"ts":1767225600,"wl":1234}',
        '-q',
        '1',
      ]);
      expect(r.code).toBe(0);
      await waitFor('the reading', () => sb.received.some((m) => m.deviceId === 'fg-a'));
      expect(sb.auth.stats.accepted.device).toBeGreaterThanOrEqual(1);
    });

    it('refuses a wrong secret with CONNACK 4 (bad user name or password), counted', async () => {
      const before = sb.auth.stats.refused.bad_secret;
      const r = await mosquitto('mosquitto_pub', [
        '-p',
        port(),
        '-i',
        'fg-b',
        '-u',
        'fg-b',
        '-P',
        'not-the-secret',
        '-t',
        'devices/fg-b/telemetry',
        '-m',
        '{}',
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Connection Refused: bad user name or password');
      expect(sb.auth.stats.refused.bad_secret).toBe(before + 1);
    });

    it("refuses another device's secret", async () => {
      expect(await refusal({ clientId: 'fg-b', username: 'fg-b', password: secrets['fg-a'] })).toBe(4);
    });

    it('refuses a connect without credentials with CONNACK 4', async () => {
      const r = await mosquitto('mosquitto_pub', [
        '-p',
        port(),
        '-i',
        'fg-a',
        '-t',
        'devices/fg-a/telemetry',
        '-m',
        '{}',
      ]);
      expect(r.stderr).toContain('Connection Refused: bad user name or password');
      expect(sb.auth.stats.refused.no_credentials).toBeGreaterThanOrEqual(1);
    });

    it('refuses a retired device with CONNACK 5 (not authorized), even with its old secret', async () => {
      const r = await mosquitto('mosquitto_pub', [
        '-p',
        port(),
        '-i',
        'fg-old',
        '-u',
        'fg-old',
        '-P',
        secrets['fg-old']!,
        '-t',
        'devices/fg-old/telemetry',
        '-m',
        '{}',
      ]);
      expect(r.stderr).toContain('Connection Refused: not authorised');
      expect(sb.auth.stats.refused.retired).toBe(1);
    });

    it('refuses a client id that is not the user name with CONNACK 2 (identifier rejected)', async () => {
      const r = await mosquitto('mosquitto_pub', [
        '-p',
        port(),
        '-i',
        'fg-b',
        '-u',
        'fg-a',
        '-P',
        secrets['fg-a']!,
        '-t',
        'devices/fg-a/telemetry',
        '-m',
        '{}',
      ]);
      expect(r.stderr).toContain('Connection Refused: identifier rejected');
      expect(sb.auth.stats.refused.client_id_mismatch).toBe(1);
    });

    it('refuses an unregistered device with CONNACK 4 and lists it as unknown', async () => {
      expect(await refusal({ clientId: 'stranger-7', username: 'stranger-7', password: 'x' })).toBe(4);
      expect(sb.auth.stats.refused.unknown_device).toBe(1);
      await env.unknown.flush();
      const list = await env.unknown.list();
      expect(list).toEqual([
        expect.objectContaining({ transport: 'mqtt', id: 'stranger-7', remote: '127.0.0.1' }),
      ]);
    });
  });

  describe('topic ACL', () => {
    it("closes a device that publishes to another device's topic; the message never reaches the pipeline", async () => {
      const a = await device('fg-a');
      const closed = new Promise<void>((resolve) => a.once('close', () => resolve()));
      a.publish('devices/fg-b/telemetry', '{"ts":1767225600,"wl":99999}', { qos: 1 });
      await closed;
      expect(sb.auth.stats.publishDenied.foreign_topic).toBe(1);
      // fg-b's own message, sent after, arrives: had the forged one got through, it would be first.
      const b = await device('fg-b');
      await b.publishAsync('devices/fg-b/telemetry', '{"ts":1767225600,"wl":1}', { qos: 1 });
      await waitFor('fg-b reading', () => sb.received.some((m) => m.deviceId === 'fg-b'));
      const fromB = sb.received.filter((m) => m.deviceId === 'fg-b').map((m) => m.payload.toString());
      expect(fromB).toEqual(['{"ts":1767225600,"wl":1}']);
    });

    it('closes a device retired while connected at its next publish; that message never reaches the pipeline', async () => {
      const g = await device('fg-gone');
      await g.publishAsync('devices/fg-gone/telemetry', '{"ts":1767225600,"wl":1}', { qos: 1 });
      await waitFor('first reading', () => sb.received.some((m) => m.deviceId === 'fg-gone'));
      await env.registry.retire('fg-gone', 'test');
      const closed = new Promise<void>((resolve) => g.once('close', () => resolve()));
      g.publish('devices/fg-gone/telemetry', '{"ts":1767225600,"wl":2}', { qos: 0 });
      await closed;
      expect(sb.auth.stats.publishDenied.device_gone).toBe(1);
      expect(sb.received.filter((m) => m.deviceId === 'fg-gone')).toHaveLength(1);
    });

    it('refuses a subscription to # with 0x80 and grants the own command topic', async () => {
      const b = await device('fg-b');
      const granted = await subscribeCodes(b, ['#', 'devices/fg-a/command', 'devices/fg-b/command'], 1);
      expect(granted).toEqual([128, 128, 1]);
      expect(sb.auth.stats.subscribeDenied.not_permitted).toBe(2);
      // The granted one works: a command the gateway publishes reaches the device.
      const got = new Promise<string>((resolve) => b.once('message', (_t, p) => resolve(p.toString())));
      await sb.broker.publish('devices/fg-b/command', 'reboot', { qos: 1 });
      expect(await got).toBe('reboot');
    });

    it('closes a device publishing on a topic deeper than maxTopicDepth', async () => {
      const a = await device('fg-a');
      const closed = new Promise<void>((resolve) => a.once('close', () => resolve()));
      a.publish('a/b/c/d/e/f/g/h/i/j', 'x', { qos: 1 });
      await closed;
      expect(sb.auth.stats.publishDenied.topic_too_deep).toBe(1);
    });

    it('lets a downstream user subscribe to alerts/# (mosquitto_sub) but not to device topics', async () => {
      const sub = mosquitto('mosquitto_sub', [
        '-p',
        port(),
        '-i',
        'dispatch-1',
        '-u',
        'dispatch',
        '-P',
        'dispatch-pw',
        '-t',
        'alerts/#',
        '-C',
        '1',
        '-q',
        '1',
      ]);
      await waitFor('dispatch subscribed', () => sb.auth.stats.accepted.user === 1);
      // Publish until the subscription is in place (SUBACK follows CONNACK shortly).
      const timer = setInterval(() => void sb.broker.publish('alerts/gulou/red', 'flood', { qos: 1 }), 100);
      const r = await sub;
      clearInterval(timer);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe('flood');

      const c = await connectAsync(`mqtt://127.0.0.1:${port()}`, {
        clientId: 'dispatch-2',
        username: 'dispatch',
        password: 'dispatch-pw',
        reconnectPeriod: 0,
      });
      clients.push(c);
      expect(await subscribeCodes(c, ['devices/#', 'alerts/+/red'], 0)).toEqual([128, 0]);
      expect(await refusal({ clientId: 'dispatch-3', username: 'dispatch', password: 'wrong' })).toBe(4);
    });
  });

  describe('payload size', () => {
    it('drops an oversized payload, counts it, and keeps the device connected', async () => {
      const a = await device('fg-a');
      const before = sb.received.length;
      await a.publishAsync('devices/fg-a/telemetry', Buffer.alloc(2000, 0x41), { qos: 1 });
      await a.publishAsync('devices/fg-a/telemetry', '{"ts":1767225600,"wl":5}', { qos: 1 });
      await waitFor('the normal reading', () => sb.received.length > before);
      expect(sb.received.slice(before).map((m) => m.payload.length)).toEqual([24]);
      await waitFor('oversize counted', () => sb.broker.stats.oversize === 1);
      expect(a.connected).toBe(true);
    });

    it('disconnects a client announcing a packet beyond the hard cap (mosquitto_pub -f)', async () => {
      const big = 'x'.repeat(200_000);
      const r = await mosquitto(
        'mosquitto_pub',
        [
          '-p',
          port(),
          '-i',
          'fg-a',
          '-u',
          'fg-a',
          '-P',
          secrets['fg-a']!,
          '-t',
          'devices/fg-a/telemetry',
          '-s',
          '-q',
          '1',
        ],
        big,
      );
      expect(r.code).not.toBe(0);
      await waitFor('packet too large counted', () => sb.broker.stats.packetTooLarge === 1);
    });
  });
});
