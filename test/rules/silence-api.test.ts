import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../processors/alerts/event.js';
import { type AlertingApi, startAlertingApi } from './alerting-api.js';
import { reading } from './helpers.js';

const RULES = `
rules:
  - id: flood.level
    name: 水位超警戒
    condition: "water_level_m >= 2.5"
    severity: yellow
`;

const HOUR = 3_600_000;
// biome-ignore lint/suspicious/noExplicitAny: reply bodies are checked field by field below
type Json = any;
let api: AlertingApi;
beforeAll(async () => {
  api = await startAlertingApi(RULES);
});
afterAll(async () => {
  await api?.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${api.url}/api/v1${path}`, {
    method,
    ...(body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : {}),
  });
  return { status: res.status, json: await res.json() };
}

async function until<T>(get: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('not seen in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function write(level: number): void {
  const d = api.devices.get('WL-001')!;
  api.alerting.engine.write(reading(d, Date.now(), { water_level_m: level }), d);
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('silences through the HTTP API', () => {
  it('a silence added while an incident fires: the consumer gets its resolve, the API still knows it', async () => {
    write(2.7);
    const firing = await until(() => api.alerting.recent.list().find((e) => e.type === 'alert.firing'));
    const id = firing.incidentId;
    const s = await call('POST', '/silences', {
      deviceId: 'WL-001',
      endsAt: new Date(Date.now() + HOUR).toISOString(),
      reason: '汛前检修',
    });
    expect(s.status).toBe(201);
    write(2.0);
    const resolved = await until(() =>
      api.alerting.recent.list().find((e: AlertEvent) => e.type === 'alert.resolved' && e.incidentId === id),
    );
    expect(resolved.severity).toBe('yellow');
    expect(await call('GET', `/incidents/${id}`)).toMatchObject({
      status: 200,
      json: { incidentId: id, state: 'resolved' },
    });
    // Red again inside the silence: a new incident nobody is told of, and the old one is still known.
    write(2.9);
    const mine = api.alerting.engine.listIncidents().filter((i) => i.deviceId === 'WL-001');
    expect(mine.map((i) => [i.id === id, i.phase, i.notified])).toEqual([
      [false, 'firing', false],
      [true, 'resolved', true],
    ]);
    expect((await call('GET', `/incidents/${id}`)).status).toBe(200);
    const open = (await call('GET', '/incidents')).json.items;
    expect(open).toEqual([expect.objectContaining({ state: 'firing', notified: false, deviceId: 'WL-001' })]);
    expect(
      (await call('GET', '/incidents?state=all')).json.items.map((i: { incidentId: string }) => i.incidentId),
    ).toContain(id);
    expect(api.alerting.recent.list().map((e) => e.type)).toEqual(['alert.firing', 'alert.resolved']);
    await call('DELETE', `/silences/${s.json.id}`);
  });

  it('the body names the device `deviceId`; `device` is refused with an error that says so', async () => {
    const r = await call('POST', '/silences', {
      device: 'WL-001',
      endsAt: new Date(Date.now() + HOUR).toISOString(),
      reason: 'x',
    });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('GG_ERR_BAD_REQUEST');
    expect(r.json.details).toEqual(['device: not a silence field; use deviceId']);
  });

  it('times are ISO 8601 in and out; epoch milliseconds are refused', async () => {
    const bad = await call('POST', '/silences', {
      deviceId: 'WL-001',
      endsAt: Date.now() + HOUR,
      reason: 'x',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.details.join(' ')).toMatch(/endsAt: an ISO 8601 time/);

    const startsAt = '2099-07-01T08:00:00+08:00';
    const endsAt = '2099-07-01T12:00:00+08:00';
    const before = Date.now();
    const r = await call('POST', '/silences', {
      ruleId: 'flood.level',
      location: { district: '鼓楼区' },
      startsAt,
      endsAt,
      reason: '管网改造',
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      ruleId: 'flood.level',
      location: { district: '鼓楼区' },
      startsAt: '2099-07-01T00:00:00.000Z',
      endsAt: '2099-07-01T04:00:00.000Z',
      state: 'pending',
      reason: '管网改造',
    });
    expect(r.json.createdAt).toMatch(ISO);
    expect(Date.parse(r.json.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    const list = await call('GET', '/silences');
    expect(list.json.items).toContainEqual(r.json);
    for (const item of list.json.items) {
      expect(item.startsAt).toMatch(ISO);
      expect(item.endsAt).toMatch(ISO);
    }
    expect((await call('DELETE', `/silences/${r.json.id}`)).status).toBe(200);
  });
});
