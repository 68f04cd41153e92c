import { type ChildProcess, spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { type AlertEvent, createAlertConsumer, validateAlertEvent } from '../../gateway/consumer.js';
import { LOCATION, randomSuffix, startGateway } from '../support/gateway.js';

const redisUrl = inject('redisUrl');
const run = randomSuffix();
const door = `door-${run}`;
const queue = `alerts-${run}`;

/** Readings in, alert jobs out: the shipped rules, the real BullMQ queue, MQTT alert topics and the ack loop. */
describe('alerting end to end through the gateway', () => {
  let gw: Gateway;
  let httpUrl: string;
  const received: AlertEvent[] = [];
  let consumer: ReturnType<typeof createAlertConsumer>;
  let sub: ChildProcess;
  let subOut = '';

  beforeAll(async () => {
    ({ gw, httpUrl } = await startGateway([{ id: door, model: 'gatekeeper-ac100' }], {
      GRIDGATE_DISPATCH__QUEUE: queue,
      GRIDGATE_RULES__WATCH: 'false',
    }));
    consumer = createAlertConsumer({
      connection: redisUrl,
      queue,
      handler: async (event) => {
        received.push(event);
      },
    });
    await consumer.ready();
    // A downstream system on the alert topic, with the real mosquitto_sub client.
    sub = spawn('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(gw.ports.mqtt),
      '-t',
      'alerts/#',
      '-v',
      '-i',
      `sub-${run}`,
    ]);
    sub.stdout?.on('data', (d: Buffer) => {
      subOut += d.toString();
    });
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(async () => {
    sub?.kill();
    await consumer?.close();
    await gw?.stop();
  });

  it('raises one alert.firing job (jobId = event id, valid gridgate.alert/v1) for a forced door, also on MQTT', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.ports.mqtt}`, { clientId: door });
    const ts = Math.floor(Date.now() / 1000);
    await client.publishAsync(`devices/${door}/event`, JSON.stringify({ ts, code: 5, door: 1, mode: 1 }), {
      qos: 1,
    });
    // the same condition again must not raise a second event
    await client.publishAsync(
      `devices/${door}/event`,
      JSON.stringify({ ts: ts + 1, code: 5, door: 1, mode: 1 }),
      { qos: 1 },
    );
    await client.endAsync();
    await waitFor(() => received.some((e) => e.type === 'alert.firing'));
    await new Promise((r) => setTimeout(r, 500));
    const firing = received.filter((e) => e.type === 'alert.firing');
    expect(firing).toHaveLength(1);
    const e = firing[0]!;
    expect(validateAlertEvent(e).ok).toBe(true);
    expect(e).toMatchObject({
      schema: 'gridgate.alert/v1',
      rule: { id: 'access.door-forced' },
      severity: 'red',
      device: { id: door, family: 'access', model: 'gatekeeper-ac100', location: LOCATION },
    });
    expect(e.summary.zh).toContain(LOCATION.district);
    await waitFor(() => subOut.includes(`alerts/${LOCATION.district}/red`));
    expect(subOut).toContain(e.id);
  });

  it('lists the open incident and acknowledges it over the HTTP API', async () => {
    const list = (await (await fetch(`${httpUrl}/api/v1/incidents`)).json()) as {
      items: { incidentId: string; rule: { id: string } }[];
    };
    const inc = list.items.find((i) => i.rule.id === 'access.door-forced');
    expect(inc).toBeDefined();
    const res = await fetch(`${httpUrl}/api/v1/incidents/${inc!.incidentId}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: '值班员', note: 'guard sent' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ incidentId: inc!.incidentId, by: '值班员' });
    const shown = (await (await fetch(`${httpUrl}/api/v1/incidents/${inc!.incidentId}`)).json()) as {
      ackedBy?: string;
    };
    expect(shown.ackedBy).toBe('值班员');
    const missing = await fetch(`${httpUrl}/api/v1/incidents/nope/ack`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(missing.status).toBe(404);
  });

  it('reports rules with their state, and refuses a reload of a broken folder without dropping rules', async () => {
    const rules = (await (await fetch(`${httpUrl}/api/v1/rules`)).json()) as {
      rules: { id: string; evaluations: number }[];
    };
    expect(rules.rules.find((r) => r.id === 'access.door-forced')?.evaluations).toBeGreaterThan(0);
    const reload = await fetch(`${httpUrl}/api/v1/rules/reload`, { method: 'POST' });
    expect(reload.status).toBe(200);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
