import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import type { AlertEvent } from '../../gateway/consumer.js';
import { freePort, type RunningService, startRedis } from '../../scripts/services.js';
import { LOCATION, mosquittoPub } from '../support/gateway.js';
import { GatewayProcess, killGatewayProcesses, until } from '../support/gateway-process.js';

/**
 * Issue 19: the gateway SIGKILLed while incidents are open. A real `gridgate start` process (its
 * embedded broker, Redis, VictoriaMetrics), readings over real MQTT, the BullMQ queue read as a
 * consumer would read it. After each restart the levels stay over the line before they fall: the
 * restarted gateway must carry the open incidents on, not open new ones, and resolve each once.
 */
const RULE = 'crash.level';
const OVER_MM = 2700; // hydrotek-wl300 reports millimetres; the rule's line is 2.5 m
const UNDER_MM = 1000;
const log = pino({ level: process.env.GRIDGATE_TEST_LOG ?? 'info' });

interface Queued {
  event: AlertEvent;
  /** When the job was added (ms). */
  at: number;
}

const ofType = (q: readonly Queued[], type: AlertEvent['type']) => q.filter((x) => x.event.type === type);

/** A gateway config, devices and rules in a folder of their own; the same across restarts. */
function setup(redisUrl: string, deviceIds: readonly string[]) {
  const run = randomUUID().slice(0, 8);
  const dir = mkdtempSync(join(tmpdir(), 'gg-incident-crash-'));
  const prefix = `gg-test-crash-${run}:`;
  const queueName = `alerts-crash-${run}`;
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(
    join(rulesDir, 'crash.yaml'),
    stringify({
      rules: [
        {
          id: RULE,
          name: '水位超警戒',
          selector: { family: 'flood' },
          condition: 'water_level_m >= 2.5',
          severity: 'yellow',
        },
      ],
    }),
  );
  writeFileSync(
    join(dir, 'devices.yaml'),
    stringify(
      {
        devices: deviceIds.map((id) => ({
          id,
          model: 'hydrotek-wl300',
          location: LOCATION,
          state: 'active',
        })),
      },
      { aliasDuplicateObjects: false },
    ),
  );
  const configFile = join(dir, 'gridgate.yaml');
  const outbox = join(dir, 'outbox');
  writeFileSync(
    configFile,
    stringify({
      log: { level: 'info', pretty: false },
      http: { port: 0 },
      mqtt: {
        embedded: { port: 0 },
        auth: { required: false, secretKeyFile: join(dir, 'mqtt-secret.key') },
        alertTopic: '',
      },
      auth: { required: false },
      tsdb: { url: inject('vmUrl'), spool: { dir: join(dir, 'spool') } },
      redis: { url: redisUrl, prefix },
      devices: { import: 'devices.yaml' },
      rules: { dir: rulesDir, watch: false },
      dispatch: { queue: queueName, outbox: { dir: outbox } },
      cameras: { snapshots: { dir: join(dir, 'snapshots') } },
    }),
  );
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', () => {});
  const queue = new Queue<AlertEvent>(queueName, { connection: redis });
  queue.on('error', () => {});
  return {
    dir,
    configFile,
    outbox,
    redis,
    /**
     * Every job of the queue in the order a consumer takes them: nothing consumes it, so all wait.
     * The list and the count are two reads, so a job added between them is read again.
     */
    async queued(): Promise<Queued[]> {
      for (let tries = 0; ; tries++) {
        const before = await queue.count();
        const jobs = await queue.getJobs(['waiting'], 0, -1, true);
        if (jobs.length === before && (await queue.count()) === before)
          return jobs.map((j) => ({ event: j.data, at: j.timestamp }));
        if (tries === 50) expect(jobs).toHaveLength(before);
      }
    },
    /** The incident state the gateway saved in Redis, by device. */
    async saved(): Promise<Map<string, { id: string; phase: string }>> {
      const out = new Map<string, { id: string; phase: string }>();
      for (const json of Object.values(await redis.hgetall(`${prefix}rules:incidents`))) {
        const i = JSON.parse(json) as { id: string; phase: string; deviceId?: string; ruleId: string };
        if (i.ruleId === RULE && i.deviceId) out.set(i.deviceId, i);
      }
      return out;
    },
    /** Events saved with their state and not yet known to be taken by the dispatcher. */
    held: () => redis.hlen(`${prefix}rules:held`),
    async cleanup(): Promise<void> {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      const keys = await redis.keys(`${prefix}*`).catch(() => []);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The readings of all `ids` at once, from one MQTT client: their incidents fire within a few ms. */
async function publishAll(port: number, ids: readonly string[], wlMm: number): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `crash-${randomUUID()}` });
  const ts = Math.floor(Date.now() / 1000);
  await Promise.all(
    ids.map((id) =>
      client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ ts, wl: wlMm }), { qos: 1 }),
    ),
  );
  await client.endAsync();
}

/** Each device's reading sent with the real mosquitto_pub client, one after another. */
async function publishEach(port: number, ids: readonly string[], wlMm: number): Promise<void> {
  const ts = Math.floor(Date.now() / 1000);
  for (const id of ids)
    await mosquittoPub(port, `devices/${id}/telemetry`, JSON.stringify({ ts, wl: wlMm }), { clientId: id });
}

/** Rule evaluations this gateway process made (counted from its start): readings it has seen. */
async function evaluations(gw: GatewayProcess): Promise<number> {
  const body = (await (await fetch(`${gw.httpUrl}/api/v1/rules`)).json()) as {
    rules: { id: string; evaluations: number }[];
  };
  return body.rules.find((r) => r.id === RULE)?.evaluations ?? 0;
}

const evaluated = (gw: GatewayProcess, n: number) =>
  until(`${n} readings evaluated`, async () => ((await evaluations(gw)) >= n ? true : undefined));

/** Per device: the event types in queue order, and the incidents they belong to. */
function perDevice(all: readonly Queued[], id: string) {
  const mine = all.filter((x) => x.event.device?.id === id);
  return { types: mine.map((x) => x.event.type), incidents: mine.map((x) => x.event.incidentId), mine };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await killGatewayProcesses();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('gateway SIGKILL while incidents are open', () => {
  it('no incident fires twice, and each resolves after the restarts', async () => {
    const ids = ['a', 'b', 'c'].map((s) => `crash-wl-${s}-${randomUUID().slice(0, 6)}`);
    const t = setup(inject('redisUrl'), ids);
    cleanups.push(() => t.cleanup());

    // 1. Three incidents fire; the gateway dies the moment their jobs are in the queue, well inside
    //    the write-behind's flush period (500 ms): a gateway that let an event out before saving
    //    its incident's state loses that state here.
    let gw = await GatewayProcess.start(t.configFile, t.dir);
    await publishAll(gw.mqttPort, ids, OVER_MM);
    await until(
      'three firing jobs',
      async () => ofType(await t.queued(), 'alert.firing').length >= 3 || undefined,
      30_000,
      5,
    );
    await gw.kill();
    const heldAtFirstKill = await t.held();
    expect(ofType(await t.queued(), 'alert.firing')).toHaveLength(3);

    // 2. Started again, the levels still over the line: nothing fires. Killed again once the open
    //    incidents are certainly in the store.
    gw = await GatewayProcess.start(t.configFile, t.dir);
    await publishEach(gw.mqttPort, ids, OVER_MM);
    await evaluated(gw, ids.length);
    const saved = await until('the open incidents saved', async () => {
      const s = await t.saved();
      return ids.every((d) => s.get(d)?.phase === 'firing') ? s : undefined;
    });
    await gw.kill();

    // 3. Started once more: over the line again, then under it. Every incident resolves.
    gw = await GatewayProcess.start(t.configFile, t.dir);
    await publishEach(gw.mqttPort, ids, OVER_MM);
    await publishEach(gw.mqttPort, ids, UNDER_MM);
    await until('three resolved jobs', async () =>
      ofType(await t.queued(), 'alert.resolved').length >= ids.length ? true : undefined,
    );
    expect(await gw.stop(), gw.log()).toBe(0);

    const all = await t.queued();
    log.info(
      {
        incidents: ids.length,
        firing: ofType(all, 'alert.firing').length,
        resolved: ofType(all, 'alert.resolved').length,
        jobs: all.length,
        heldAtFirstKill,
      },
      'incident crash figures',
    );
    for (const d of ids) {
      const { types, incidents, mine } = perDevice(all, d);
      // A second firing (another incident id, same rule and device) is an incident fired twice.
      expect(types, d).toEqual(['alert.firing', 'alert.resolved']);
      expect(new Set(incidents).size, d).toBe(1);
      // The incident carried through both crashes is the one the store held and the one that fired.
      expect(saved.get(d)?.id, d).toBe(incidents[0]);
      expect(mine[1]!.at, d).toBeGreaterThan(mine[0]!.at);
    }
    expect(ofType(all, 'alert.firing')).toHaveLength(ids.length);
    expect(ofType(all, 'alert.resolved')).toHaveLength(ids.length);
    // Events sent again at a start (saved, not yet known taken) reach the queue once: job id = event id.
    expect(new Set(all.map((x) => x.event.id)).size).toBe(all.length);
    // A clean stop leaves nothing to send again.
    expect(await t.held()).toBe(0);
  }, 180_000);

  it('killed while Redis is down: what changed during the outage is not forgotten by the restart', async () => {
    const tag = randomUUID().slice(0, 6);
    const [a, b, d] = ['a', 'b', 'd'].map((s) => `crash-out-${s}-${tag}`) as [string, string, string];
    const redisDir = mkdtempSync(join(tmpdir(), 'gg-incident-crash-redis-'));
    const port = await freePort();
    let redis: RunningService = await startRedis(redisDir, port);
    cleanups.push(async () => {
      await redis.stop();
      rmSync(redisDir, { recursive: true, force: true });
    });
    const t = setup(redis.url, [a, b, d]);
    cleanups.push(() => t.cleanup());

    // Before the outage: a and b fire.
    let gw = await GatewayProcess.start(t.configFile, t.dir);
    await publishAll(gw.mqttPort, [a, b], OVER_MM);
    await until(
      'two firing jobs',
      async () => ofType(await t.queued(), 'alert.firing').length >= 2 || undefined,
    );

    // Redis gone: a resolves and d fires. Their events wait in the outbox on disk, and their state,
    // which Redis cannot take, in the file beside it. The gateway dies then. (The embedded broker
    // keeps sessions in Redis and takes no new connection now: the devices connected before.)
    const clients = await Promise.all(
      [a, d].map((id) => mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: id })),
    );
    await new Promise<void>((done) => {
      redis.proc.once('exit', () => done());
      redis.proc.kill('SIGKILL');
    });
    const ts = Math.floor(Date.now() / 1000);
    await clients[0]!.publishAsync(`devices/${a}/telemetry`, JSON.stringify({ ts, wl: UNDER_MM }), {
      qos: 1,
    });
    await clients[1]!.publishAsync(`devices/${d}/telemetry`, JSON.stringify({ ts, wl: OVER_MM }), { qos: 1 });
    for (const c of clients) c.end(true);
    // The gateway saves an event's state before it hands the event on: once both are in the
    // outbox, their state is on disk as well.
    await until('both outage events in the outbox', async () => {
      const health = await (await fetch(`${gw.httpUrl}/healthz`)).text();
      return Number(/(\d+) in the outbox/.exec(health)?.[1] ?? 0) >= 2 ? true : undefined;
    });
    await gw.kill();

    // Redis back with its data, the gateway started again: the outbox goes first. a rises again (a
    // new incident: its first one was resolved), d stays over (its incident is open: no firing),
    // then everything falls.
    redis = await startRedis(redisDir, port);
    gw = await GatewayProcess.start(t.configFile, t.dir);
    await publishEach(gw.mqttPort, [a, d], OVER_MM);
    await evaluated(gw, 2);
    await publishEach(gw.mqttPort, [a, b, d], UNDER_MM);
    // d's resolve comes from the last reading: the dispatcher keeps order, so every event before
    // it is in the queue once it is.
    await until(
      "d's resolved job",
      async () =>
        (await t.queued()).some((x) => x.event.type === 'alert.resolved' && x.event.device?.id === d) ||
        undefined,
    );
    expect(await gw.stop(), gw.log()).toBe(0);

    const all = await t.queued();
    log.info(
      {
        firing: ofType(all, 'alert.firing').length,
        resolved: ofType(all, 'alert.resolved').length,
        jobs: all.length,
      },
      'incident crash during a Redis outage figures',
    );
    const pa = perDevice(all, a);
    expect(pa.types, a).toEqual(['alert.firing', 'alert.resolved', 'alert.firing', 'alert.resolved']);
    expect(pa.incidents[1]).toBe(pa.incidents[0]);
    expect(pa.incidents[3]).toBe(pa.incidents[2]);
    expect(pa.incidents[2]).not.toBe(pa.incidents[0]);
    for (const id of [b, d]) {
      const p = perDevice(all, id);
      expect(p.types, id).toEqual(['alert.firing', 'alert.resolved']);
      expect(new Set(p.incidents).size, id).toBe(1);
    }
    expect(new Set(all.map((x) => x.event.id)).size).toBe(all.length);
  }, 180_000);
});
