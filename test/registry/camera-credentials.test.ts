import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CredentialStore } from '../../adapters/registry/credentials.js';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { devicesPlugin } from '../../gateway/http/routes/devices.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { FAST_SCRYPT, quiet } from '../security/support.js';
import { dustMonitor, knownModels } from './fixtures.js';

/** A camera never logs in over MQTT (the gateway pulls its stream), so it is never issued a secret. */

let redis: Redis;
let app: FastifyInstance;
let registry: RedisRegistry;
let credentials: CredentialStore;
const prefix = `gg-test:${randomUUID()}:`;

const camera = {
  id: 'cam-cred-1',
  model: 'rtsp-camera',
  location: { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '第3网格' },
  rtsp: { url: 'rtsp://192.0.2.10:554/Streaming/Channels/102' },
};

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  registry = new RedisRegistry({ redis, prefix, knownModels });
  await registry.start();
  credentials = new CredentialStore({ redis, prefix, scrypt: FAST_SCRYPT });
  app = await buildHttpServer({
    logger: quiet,
    root: [],
    api: [
      {
        plugin: devicesPlugin as never,
        prefix: '',
        options: { registry, credentials, actor: () => 'tester' },
      },
    ],
  });
});
afterAll(async () => {
  await app.close();
  await registry.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('camera credentials', () => {
  it('adding a camera issues no MQTT secret; adding a sensor does', async () => {
    const cam = await app.inject({ method: 'POST', url: '/api/v1/devices', payload: camera });
    expect(cam.statusCode).toBe(201);
    expect(cam.json()).not.toHaveProperty('secret');
    expect(await credentials.has(camera.id)).toBe(false);
    const sensor = await app.inject({
      method: 'POST',
      url: '/api/v1/devices',
      payload: dustMonitor('dm-cred-1'),
    });
    expect(sensor.statusCode).toBe(201);
    expect(typeof sensor.json().secret).toBe('string');
  });

  it('rotating a camera secret is refused with a reason, in the documented error shape', async () => {
    const res = await app.inject({ method: 'POST', url: `/api/v1/devices/${camera.id}/credentials/rotate` });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('GG_ERR_BAD_REQUEST');
    expect(body.message).toMatch(/camera.*no MQTT secret/);
    expect(body.details.join(' ')).toMatch(/rtsp\.password/);
  });
});
