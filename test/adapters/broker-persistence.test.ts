/**
 * The embedded broker with Redis persistence: persistent sessions, their queued QoS 1 messages and
 * retained messages outlive a broker restart; brokers with different key prefixes share one Redis
 * without seeing each other; a Redis that is not there fails start() with a clear error; a Redis that
 * goes away while the broker runs does not take the process down.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { EmbeddedBroker, type EmbeddedBrokerOptions } from '../../adapters/mqtt/embedded-broker.js';
import { GridgateError } from '../../processors/errors.js';
import { freePort, type RunningService, startRedis } from '../../scripts/services.js';
import { type CapturedLogs, captureLogs, defaultRoute, waitFor } from './support.js';

const redisUrl = inject('redisUrl');

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** Debian's mosquitto_sub: the first message on `topic` (retained ones included), or a failure after 10 s. */
function mosquittoSubOne(port: number, topic: string): Promise<string> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-q', '1', '-C', '1', '-W', '10', '-v'];
  return new Promise((resolve, reject) => {
    execFile('mosquitto_sub', args, { timeout: 15_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`mosquitto_sub ${args.join(' ')} failed: ${err.message} ${stderr}`))
        : resolve(stdout),
    );
  });
}

/** Debian's mosquitto_pub with the retain flag, QoS 1: resolves after the broker's PUBACK. */
function mosquittoPubRetained(port: number, topic: string, message: string): Promise<void> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-m', message, '-q', '1', '-r'];
  return new Promise((resolve, reject) => {
    execFile('mosquitto_pub', args, { timeout: 10_000 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`mosquitto_pub ${args.join(' ')} failed: ${err.message} ${stderr}`)) : resolve(),
    );
  });
}

/** Every key under `prefix`, by SCAN (the test Redis is shared by the whole run). */
async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 }))
    keys.push(...(batch as string[]));
  return keys;
}

describe('EmbeddedBroker with Redis persistence', () => {
  const brokers: EmbeddedBroker[] = [];
  const clients: mqtt.MqttClient[] = [];
  const prefixes: string[] = [];
  let admin: Redis;

  beforeAll(async () => {
    admin = new Redis(redisUrl, { lazyConnect: true });
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await Promise.all(brokers.splice(0).map((b) => b.stop()));
    for (const p of prefixes.splice(0)) {
      const keys = await keysUnder(admin, p);
      if (keys.length) await admin.del(...keys);
    }
  });

  afterAll(async () => {
    await admin.quit();
  });

  function newPrefix(): string {
    const p = `gridgate-test-${randomUUID()}:mqtt:`;
    prefixes.push(p);
    return p;
  }

  async function startBroker(
    persistence: EmbeddedBrokerOptions['persistence'],
    logs: CapturedLogs = captureLogs(),
    onMessage: EmbeddedBrokerOptions['onMessage'] = () => {},
  ): Promise<EmbeddedBroker> {
    const b = new EmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      maxPayloadBytes: 4096,
      route: defaultRoute,
      logger: logs.logger,
      onMessage,
      persistence,
    });
    brokers.push(b);
    await b.start();
    return b;
  }

  async function stopBroker(b: EmbeddedBroker): Promise<void> {
    brokers.splice(brokers.indexOf(b), 1);
    await b.stop();
  }

  /** An mqtt.js client; resolves with it, its CONNACK's session-present flag and what it receives. */
  function connect(
    port: number,
    opts: mqtt.IClientOptions,
  ): Promise<{ client: mqtt.MqttClient; sessionPresent: boolean; received: Received[] }> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...opts });
    clients.push(client);
    const received: Received[] = [];
    // Attached before any byte arrives: a resumed session's queue is sent right after CONNACK.
    client.on('message', (topic, payload, packet) =>
      received.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }),
    );
    return new Promise((resolve, reject) => {
      client.once('connect', (connack) =>
        resolve({ client, sessionPresent: connack.sessionPresent, received }),
      );
      client.once('error', reject);
      client.once('close', () => reject(new Error(`connection of ${opts.clientId ?? 'client'} closed`)));
    });
  }

  it('resumes a persistent session after a restart: CONNACK session present, the queued QoS 1 message delivered', async () => {
    const persistence = { redisUrl, keyPrefix: newPrefix() };
    const first = await startBroker(persistence);
    const session = { clientId: 'ops-console-7', clean: false, protocolVersion: 4 as const };

    const before = await connect(first.port, session);
    expect(before.sessionPresent).toBe(false);
    await before.client.subscribeAsync('alerts/#', { qos: 1 });
    await before.client.endAsync();
    await waitFor('the client gone from the broker', () => first.connectedClients === 0);

    // Queued for the offline session: resolves once stored in Redis.
    await first.publish('alerts/x/red', 'smoke at pump 3', { qos: 1 });
    await stopBroker(first);

    const second = await startBroker(persistence);
    expect(second.port).not.toBe(0);
    const after = await connect(second.port, session);
    expect(after.sessionPresent).toBe(true);
    await waitFor('the queued message', () => after.received.length > 0);
    expect(after.received[0]).toEqual({
      topic: 'alerts/x/red',
      payload: 'smoke at pump 3',
      qos: 1,
      retain: false,
    });
    // The restored subscription routes new messages too.
    await second.publish('alerts/y/amber', 'level high', { qos: 1 });
    await waitFor('a message after the restart', () => after.received.length === 2);
    expect(after.received[1]?.topic).toBe('alerts/y/amber');
  });

  it('keeps a retained message across a restart (mosquitto_pub -r before, mosquitto_sub after)', async () => {
    const persistence = { redisUrl, keyPrefix: newPrefix() };
    const first = await startBroker(persistence);
    await mosquittoPubRetained(first.port, 'status/site-3/level', '4.25');
    await stopBroker(first);

    const second = await startBroker(persistence);
    const line = await mosquittoSubOne(second.port, 'status/#');
    expect(line.trim()).toBe('status/site-3/level 4.25');
  });

  it('keeps brokers with different key prefixes apart on one Redis', async () => {
    const prefixA = newPrefix();
    const prefixB = newPrefix();
    const a = await startBroker({ redisUrl, keyPrefix: prefixA });
    const b = await startBroker({ redisUrl, keyPrefix: prefixB });
    await a.publish('shared/a', 'from a', { qos: 1, retain: true });
    await b.publish('shared/b', 'from b', { qos: 1, retain: true });

    for (const [broker, own] of [
      [a, 'shared/a'],
      [b, 'shared/b'],
    ] as const) {
      const sub = await connect(broker.port, { clientId: `watch-${own.replace('/', '-')}` });
      await sub.client.subscribeAsync('shared/#', { qos: 1 });
      await waitFor(`${own} retained`, () => sub.received.length === 1);
      // A live message after the retained ones: anything else retained would have come before it.
      await broker.publish('shared/end', 'end', { qos: 1 });
      await waitFor('the live message', () => sub.received.some((m) => m.topic === 'shared/end'));
      expect(sub.received.map((m) => [m.topic, m.retain])).toEqual([
        [own, true],
        ['shared/end', false],
      ]);
    }
    // And in Redis: each broker's retained hash under its own prefix only.
    expect(await admin.hkeys(`${prefixA}retained`)).toEqual(['shared/a']);
    expect(await admin.hkeys(`${prefixB}retained`)).toEqual(['shared/b']);
    expect((await keysUnder(admin, prefixA)).every((k) => k.startsWith(prefixA))).toBe(true);
  });

  describe('when Redis is not there at start', () => {
    const password = 'pw-Never-Show-9f3';
    let silent: Server | undefined;
    const held: Socket[] = [];

    afterEach(async () => {
      for (const s of held.splice(0)) s.destroy();
      await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
      silent = undefined;
    });

    async function startFails(url: string): Promise<GridgateError> {
      const logs = captureLogs();
      const broker = new EmbeddedBroker({
        host: '127.0.0.1',
        port: 0,
        maxPayloadBytes: 4096,
        route: defaultRoute,
        logger: logs.logger,
        onMessage: () => {},
        persistence: { redisUrl: url, keyPrefix: 'gridgate-test:mqtt:', connectTimeoutMs: 1_500 },
      });
      // A deadline for the test, not a timing claim: start() must settle rather than retry forever.
      const outcome = await Promise.race([
        broker.start().then(
          () => new Error('start() resolved'),
          (err: unknown) => err,
        ),
        new Promise((resolve) =>
          setTimeout(() => resolve(new Error('start() still pending after 20 s')), 20_000),
        ),
      ]);
      expect(outcome).toBeInstanceOf(GridgateError);
      const err = outcome as GridgateError;
      expect(err.code).toBe('GG_ERR_REDIS_CONNECT');
      expect(`${err.message} ${err.details.join(' ')}`).not.toContain(password);
      expect(JSON.stringify(logs.entries)).not.toContain(password);
      // Nothing listens: start() failed before the MQTT port was bound.
      expect(broker.port).toBe(0);
      await broker.stop();
      return err;
    }

    it('rejects with GG_ERR_REDIS_CONNECT naming the address but not the password when the port is closed', async () => {
      const port = await freePort();
      const err = await startFails(`redis://:${password}@127.0.0.1:${port}/0`);
      expect(err.message).toContain(`redis://:***@127.0.0.1:${port}/0`);
      expect(err.details[0]).toMatch(/ECONNREFUSED/);
      expect(err.details[1]).toMatch(/start Redis or set redis\.url/);
    });

    it('gives up on an address that accepts but never answers', async () => {
      silent = createServer((s) => held.push(s));
      await new Promise<void>((resolve) => silent?.listen(0, '127.0.0.1', resolve));
      const addr = silent.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const err = await startFails(`redis://default:${password}@127.0.0.1:${port}`);
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(err.details[0]).toMatch(/no answer within 1500 ms/);
    });
  });

  describe('when Redis goes away while the broker runs', () => {
    let dir: string;
    let redis: RunningService | undefined;
    const uncaught: unknown[] = [];
    const collect = (err: unknown) => uncaught.push(err);

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gridgate-broker-outage-'));
      process.on('uncaughtException', collect);
      process.on('unhandledRejection', collect);
    });

    afterAll(async () => {
      process.off('uncaughtException', collect);
      process.off('unhandledRejection', collect);
      await redis?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('keeps running, logs the outage, answers clients with errors, and recovers when Redis returns', async () => {
      redis = await startRedis(join(dir, 'redis'));
      const port = redis.port;
      const logs = captureLogs();
      const ingested: string[] = [];
      const broker = await startBroker({ redisUrl: redis.url, keyPrefix: 'gridgate:mqtt:' }, logs, (m) =>
        ingested.push(m.payload.toString()),
      );
      // Connected before the outage: a clean session subscribes without touching Redis, then reads
      // retained messages from it.
      const watcher = await connect(broker.port, { clientId: 'watcher' });
      const unit = await connect(broker.port, {
        clientId: 'field-unit-2',
        will: { topic: 'status/field-unit-2', payload: Buffer.from('gone'), qos: 1, retain: false },
      });

      await redis.stop();
      await waitFor('the outage logged', () =>
        logs.entries.some((e) => e.level === 50 && e.msg?.includes('broker persistence lost Redis')),
      );

      // The gateway's own publish: storing the retained message fails, and says so.
      await expect(broker.publish('status/site-9/level', '1.5', { qos: 1, retain: true })).rejects.toThrow();
      // Reading retained messages for a new subscription fails; the subscriber still gets its SUBACK.
      await watcher.client.subscribeAsync('status/#', { qos: 1 });
      await waitFor(
        'the failed retained read logged',
        () =>
          uncaught.length > 0 ||
          logs.entries.some((e) => e.msg === 'retained messages could not be read; the subscriber gets none'),
      );
      expect(uncaught).toEqual([]);
      // New connections are turned away: aedes looks up every connecting client's stored session.
      await expect(connect(broker.port, { clientId: 'ops-console-8', clean: false })).rejects.toThrow();
      await expect(connect(broker.port, { clientId: 'field-unit-3' })).rejects.toThrow();
      // A device already connected goes on publishing (nobody holds a persistent subscription).
      await unit.client.publishAsync('devices/field-unit-2/telemetry', '{"level":1.6}', { qos: 1 });
      await waitFor('the reading ingested', () => ingested.includes('{"level":1.6}'));
      // A link that drops: the will goes out, then the stored will's LREM (not awaited by
      // aedes-persistence-redis) fails with nowhere to report to.
      unit.client.stream.destroy();
      await waitFor(
        'the failed LREM of the will',
        () =>
          uncaught.length > 0 ||
          logs.entries.some((e) => e.msg === 'broker persistence command failed' && e.command === 'lrem'),
      );
      expect(uncaught).toEqual([]);

      redis = await startRedis(join(dir, 'redis'), port);
      await waitFor('the reconnect logged', () =>
        logs.entries.some((e) => e.msg === 'broker persistence reconnected to Redis'),
      );
      await broker.publish('status/site-9/level', '1.75', { qos: 1, retain: true });
      expect((await mosquittoSubOne(broker.port, 'status/site-9/#')).trim()).toBe('status/site-9/level 1.75');
      expect(uncaught).toEqual([]);
    });
  });
});
