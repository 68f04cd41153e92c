import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { devicesPlugin } from '../../gateway/http/routes/devices.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { cameraStream } from '../../processors/registry/camera.js';
import { DEVICE_LOG_REDACT, type DeviceInput } from '../../processors/registry/device-schema.js';
import { dustMonitor, knownModels } from './fixtures.js';

/**
 * A camera's RTSP password through the real registry (Redis) and the real HTTP API: stored and
 * handed to the supervisor, never in a response, an export, the audit stream or a log line.
 */

const PW = 'Rtsp-Pa55-7f3c';
const PW2 = 'Second-Pa55-91d';
const URL_WITH_LOGIN = `rtsp://admin:${PW}@192.0.2.10:554/Streaming/Channels/101`;

let redis: Redis;
let app: FastifyInstance;
let registry: RedisRegistry;
const logLines: string[] = [];
const prefix = `gg-test:${randomUUID()}:`;

function camera(id: string, extra: Partial<DeviceInput> = {}): DeviceInput {
  return {
    id,
    model: 'rtsp-camera',
    location: { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '第3网格' },
    state: 'active',
    rtsp: { url: URL_WITH_LOGIN, subUrl: 'rtsp://192.0.2.10:554/Streaming/Channels/102' },
    covers: ['dm-c1'],
    ...extra,
  };
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  // The gateway's logger redacts these paths (gateway/log.ts); debug so the registry logs changes.
  const logger = pino(
    { level: 'debug', redact: { paths: [...DEVICE_LOG_REDACT], censor: '[redacted]' } },
    sink,
  );
  registry = new RedisRegistry({ redis, prefix, knownModels, logger });
  await registry.start();
  app = await buildHttpServer({
    logger,
    root: [],
    api: [{ plugin: devicesPlugin as never, prefix: '', options: { registry, actor: () => 'tester' } }],
  });
});
afterAll(async () => {
  await app.close();
  await registry.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

/** Every way the API shows devices, for one camera. */
async function everyView(id: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const url of [
    `/api/v1/devices/${id}`,
    '/api/v1/devices',
    '/api/v1/devices?family=camera',
    `/api/v1/devices/${id}/audit`,
    '/api/v1/devices/export?format=yaml',
    '/api/v1/devices/export?format=csv',
    '/api/v1/devices/export?format=json',
  ]) {
    const r = await app.inject({ url });
    expect(r.statusCode, url).toBe(200);
    out[url] = r.body;
  }
  return out;
}

describe('cameras over /api/v1/devices', () => {
  it('adds a camera: credentials moved out of the URL, the password never shown', async () => {
    await app.inject({ method: 'POST', url: '/api/v1/devices', payload: dustMonitor('dm-c1') });
    const res = await app.inject({ method: 'POST', url: '/api/v1/devices', payload: camera('cam-h1') });
    expect(res.statusCode).toBe(201);
    const body = res.json() as { device: { family: string; rtsp: Record<string, string>; covers: string[] } };
    expect(body.device.family).toBe('camera');
    expect(body.device.rtsp).toEqual({
      url: 'rtsp://192.0.2.10:554/Streaming/Channels/101',
      subUrl: 'rtsp://192.0.2.10:554/Streaming/Channels/102',
      username: 'admin',
      password: '[redacted]',
      transport: 'tcp',
    });
    expect(res.body).not.toContain(PW);
    // Stored, for the supervisor.
    expect(cameraStream(registry.get('cam-h1')!)?.password).toBe(PW);

    for (const [url, text] of Object.entries(await everyView('cam-h1'))) {
      expect(text, url).not.toContain(PW);
      expect(text, url).toContain('cam-h1');
    }
    const csv = (await app.inject({ url: '/api/v1/devices/export?format=csv' })).body;
    expect(csv.split('\n')[0]).toContain('rtsp.url');
    expect(csv.split('\n')[0]).not.toContain('rtsp.password');
  });

  it('keeps the password on a patch that leaves it out; refuses the redaction marker as one', async () => {
    const shown = (await app.inject({ url: '/api/v1/devices/cam-h1' })).json() as Record<string, unknown>;
    const patched = await app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/cam-h1',
      payload: { rtsp: { transport: 'udp' }, labels: { site: 'underpass' } },
    });
    expect(patched.statusCode).toBe(200);
    expect(registry.get('cam-h1')?.rtsp).toMatchObject({ transport: 'udp', password: PW });

    // Sending back what GET showed (marker included) is refused, and says why.
    const back = await app.inject({ method: 'PATCH', url: '/api/v1/devices/cam-h1', payload: shown });
    expect(back.statusCode).toBe(400);
    expect(back.body).toMatch(/rtsp\.password: this is the redaction marker/);
    expect(registry.get('cam-h1')?.rtsp?.password).toBe(PW);

    const changed = await app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/cam-h1',
      payload: { rtsp: { password: PW2 } },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.body).not.toContain(PW2);
    expect(registry.get('cam-h1')?.rtsp?.password).toBe(PW2);
  });

  it('refuses a bad camera with every problem, echoing no URL or password', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/devices',
      payload: camera('cam-bad', {
        rtsp: { url: `http://admin:${PW}@192.0.2.10/x`, transport: 'quic' as never },
        covers: ['not an id'],
      }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/rtsp\.transport/);
    expect(res.body).toMatch(/covers\.0/);
    expect(res.body).not.toContain(PW);
    expect(res.body).not.toContain('192.0.2.10');
  });

  it('imports cameras from CSV and YAML; an export re-imports without losing the password', async () => {
    const csv = [
      'id,model,district,street,community,grid,state,rtsp.url,rtsp.username,rtsp.password,covers',
      `cam-c2,rtsp-camera,鼓楼区,s,c,g,active,rtsp://192.0.2.12/101,admin,${PW},dm-c1`,
    ].join('\n');
    const imp = await app.inject({
      method: 'POST',
      url: '/api/v1/devices/import?source=cams.csv',
      headers: { 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(imp.statusCode).toBe(200);
    expect(imp.body).not.toContain(PW);
    expect(registry.get('cam-c2')).toMatchObject({
      covers: ['dm-c1'],
      rtsp: { username: 'admin', password: PW },
    });

    const yaml = (await app.inject({ url: '/api/v1/devices/export?format=yaml' })).body;
    const parsed = parseYaml(yaml) as { devices: { id: string; rtsp?: Record<string, string> }[] };
    expect(parsed.devices.find((d) => d.id === 'cam-c2')?.rtsp).toEqual({
      url: 'rtsp://192.0.2.12/101',
      username: 'admin',
      transport: 'tcp',
    });
    const again = await app.inject({
      method: 'POST',
      url: '/api/v1/devices/import',
      headers: { 'content-type': 'application/yaml' },
      payload: yaml,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: 0, updated: 0 });
    expect(registry.get('cam-c2')?.rtsp?.password).toBe(PW);
    expect(registry.get('cam-h1')?.rtsp?.password).toBe(PW2);
  });

  it('leaves no password in the audit stream in Redis or in any log line', async () => {
    const entries = await redis.xrange(`${prefix}devices:audit`, '-', '+');
    expect(entries.length).toBeGreaterThanOrEqual(4);
    const stored = JSON.stringify(entries);
    expect(stored).toContain('cam-h1');
    for (const pw of [PW, PW2]) {
      expect(stored).not.toContain(pw);
      expect(logLines.join('')).not.toContain(pw);
    }
    expect(logLines.length).toBeGreaterThan(0);
  });
});
