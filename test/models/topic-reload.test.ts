/**
 * A models-folder reload that moves a vendor to new topics takes effect without a restart: with the
 * threaded embedded broker (the default; it remembers routes per topic, even "routes nowhere", and
 * the topics each connection may publish on), for a device already connected (its ACL follows its
 * model), and as a client of an external broker (which must subscribe to the new topics).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { type RunningService, startMosquitto } from '../../scripts/services.js';
import { mosquittoPub, randomSuffix, startGateway } from '../support/gateway.js';

const model = (tree: string) => `id: acme-rg1
vendor: Acme
name: RG1 rain gauge
family: flood
format: json
topics: { telemetry: '${tree}/{deviceId}/data', event: '${tree}/{deviceId}/ev', status: '${tree}/{deviceId}/lwt' }
fields:
  - { metric: rain_mm, path: r, unit: '0.1mm' }
reportingIntervalS: 60
`;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const rain = (gw: Gateway, id: string) => gw.latest.get(id)?.values.rain_mm?.value;
/** Messages on `topic` the MQTT edge handed over as routing nowhere (dead-lettered as unknown_topic). */
const unrouted = (gw: Gateway, topic: string) =>
  gw.deadLetters.list().filter((r) => r.reason === 'unknown_topic' && r.topic === topic).length;

/** A models folder with acme-rg1 on acme/..., and a gateway on it. */
async function gatewayWith(env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'gg-topic-reload-'));
  await writeFile(join(dir, 'acme-rg1.yaml'), model('acme'));
  const id = `rg-${randomSuffix()}`;
  const { gw, httpUrl } = await startGateway([{ id, model: 'acme-rg1' }], {
    GRIDGATE_MODELS__DIR: dir,
    ...env,
  });
  return { gw, dir, id, httpUrl };
}

/** Moves acme-rg1 to acme2/... and waits for the gateway to take the new set. */
async function moveToAcme2(gw: Gateway, dir: string): Promise<void> {
  await writeFile(join(dir, 'acme-rg1.yaml'), model('acme2'));
  // The index, the router and the MQTT edge's routes change in one tick.
  await until('the reload', () => gw.models.get('acme-rg1')?.topics.telemetry === 'acme2/{deviceId}/data');
}

describe('embedded threaded broker, open', () => {
  let gw: Gateway;
  let dir: string;
  let id: string;

  beforeAll(async () => {
    ({ gw, dir, id } = await gatewayWith({}));
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes a topic it had seen route nowhere once a reload gives it a model', async () => {
    const port = gw.ports.mqtt!;
    const topic = `acme2/${id}/data`;

    await mosquittoPub(port, topic, '{"r":10}', { clientId: id });
    await until('the unrouted message', () => unrouted(gw, topic) === 1);
    await mosquittoPub(port, `acme/${id}/data`, '{"r":15}', { clientId: id });
    await until('the reading on the old topic', () => rain(gw, id) === 1.5);

    await moveToAcme2(gw, dir);
    await mosquittoPub(port, topic, '{"r":25}', { clientId: id });
    await until('the reading on the new topic', () => rain(gw, id) === 2.5);
    expect(unrouted(gw, topic)).toBe(1);
  });
});

describe('embedded threaded broker, device credentials', () => {
  let gw: Gateway;
  let dir: string;
  let id: string;
  let httpUrl: string;

  beforeAll(async () => {
    ({ gw, dir, id, httpUrl } = await gatewayWith({ GRIDGATE_MQTT__AUTH__REQUIRED: 'true' }));
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a device connected before the reload publishes on its model’s new topic, and no longer on the old one', async () => {
    const res = await fetch(`${httpUrl}/api/v1/devices/${id}/credentials/rotate`, { method: 'POST' });
    expect(res.status).toBe(200);
    const { secret } = (await res.json()) as { secret: string };
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.ports.mqtt}`, {
      clientId: id,
      username: id,
      password: secret,
      reconnectPeriod: 0,
    });
    try {
      await client.publishAsync(`acme/${id}/data`, '{"r":15}', { qos: 1 });
      await until('the reading on the old topic', () => rain(gw, id) === 1.5);

      await moveToAcme2(gw, dir);
      await client.publishAsync(`acme2/${id}/data`, '{"r":25}', { qos: 1 });
      await until('the reading on the new topic', () => rain(gw, id) === 2.5);
      expect(client.connected).toBe(true);

      // The old topic is now another device's business: the connection is closed [MQTT-3.3.5-2].
      await client.publishAsync(`acme/${id}/data`, '{"r":35}', { qos: 0 });
      await until('the connection to close', () => !client.connected);
      const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
      expect(metrics).toContain('gridgate_mqtt_publish_denied_total{reason="foreign_topic"} 1');
      expect(rain(gw, id)).toBe(2.5);
    } finally {
      await client.endAsync(true);
    }
  });
});

describe('external broker (mosquitto)', () => {
  let gw: Gateway;
  let dir: string;
  let id: string;
  let broker: RunningService;

  beforeAll(async () => {
    broker = await startMosquitto(await mkdtemp(join(tmpdir(), 'gg-mosq-')));
    ({ gw, dir, id } = await gatewayWith({
      GRIDGATE_MQTT__URL: broker.url,
      GRIDGATE_MQTT__CLIENT_ID: `gridgate-topic-reload-${randomSuffix()}`,
    }));
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('subscribes to the new topics and leaves the old ones', async () => {
    expect(gw.ports.mqtt).toBeUndefined();
    await mosquittoPub(broker.port, `acme/${id}/data`, '{"r":15}', { clientId: id });
    await until('the reading on the old topic', () => rain(gw, id) === 1.5);

    await moveToAcme2(gw, dir);
    // The broker drops what no subscription covers until the gateway's SUBSCRIBE is in: try again until then.
    await until('the reading on the new topic', async () => {
      await mosquittoPub(broker.port, `acme2/${id}/data`, '{"r":25}', { clientId: id });
      return rain(gw, id) === 2.5 || (await settles(() => rain(gw, id) === 2.5));
    });

    // The old topic first, then the new: had the old filter stayed, its message would be in (unrouted) by now.
    await mosquittoPub(broker.port, `acme/${id}/data`, '{"r":99}', { clientId: id });
    await mosquittoPub(broker.port, `acme2/${id}/data`, '{"r":35}', { clientId: id });
    await until('the second reading on the new topic', () => rain(gw, id) === 3.5);
    expect(unrouted(gw, `acme/${id}/data`)).toBe(0);
  });
});

/** True if `ok` holds within a short while (a message on its way through the pipeline). */
async function settles(ok: () => boolean): Promise<boolean> {
  const end = Date.now() + 500;
  while (Date.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
