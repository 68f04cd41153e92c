import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CredentialStore } from '../../adapters/registry/credentials.js';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { UnknownDevices } from '../../adapters/registry/unknown-devices.js';
import { ProcessBudget } from '../../adapters/rtsp/process-budget.js';
import { LOG_REDACT_PATHS } from '../../config/redact.js';
import type { Alerting } from '../../gateway/alerting.js';
import {
  type AuthHandle,
  authPlugin,
  PERMISSIONS,
  ROLES,
  type Role,
  tokenHash,
} from '../../gateway/http/auth.js';
import { alertingRoutes } from '../../gateway/http/routes/alerting.js';
import { cameraRoutes } from '../../gateway/http/routes/cameras.js';
import { deadletterRoutes } from '../../gateway/http/routes/deadletters.js';
import { type DeviceRoutesOptions, devicesPlugin } from '../../gateway/http/routes/devices.js';
import { healthRoutes } from '../../gateway/http/routes/health.js';
import { modelRoutes } from '../../gateway/http/routes/models.js';
import { snapshotRoutes } from '../../gateway/http/routes/snapshots.js';
import { type StatsSources, statsRoutes } from '../../gateway/http/routes/stats.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { DeadLetterStore } from '../../processors/deadletters.js';
import { GridgateError } from '../../processors/errors.js';
import { LatestReadings } from '../../processors/latest.js';
import { DeviceRateLimiter } from '../../processors/limits/device-rate-limiter.js';
import { FAST_SCRYPT, gauge, models, quiet } from './support.js';

/**
 * The rules engine's routes need an Alerting; these tests exercise only the auth in front of them,
 * so a minimal one answers with empty results.
 */
const alerting = {
  engine: { listIncidents: () => [], getIncident: () => undefined, rulesStatus: () => [], shadowEvents: [] },
  currentEvent: () => undefined,
  ack: async () => ({ ok: true }),
  watcher: {
    lastReloadAt: 0,
    lastReloadError: undefined,
    reload: async () => ({ ok: true, value: { rules: [] }, errors: [] }),
  },
  silences: { list: () => [], add: async (s: unknown) => s, remove: async () => false },
  installerAlerts: { list: () => [] },
} as unknown as Alerting;

const TOKENS = Object.fromEntries(ROLES.map((r) => [r, `gg_test_${r}_${randomUUID()}`])) as Record<
  Role,
  string
>;

const API_TOKENS = ROLES.map((role) => ({
  name: `${role}-holder`,
  role,
  sha256: tokenHash(TOKENS[role]),
}));

let redis: Redis;
const prefix = `gg-test:${randomUUID()}:`;
let registry: RedisRegistry;
let app: FastifyInstance;
let open: FastifyInstance;
let handle: AuthHandle | undefined;
let base = '';

async function build(required: boolean, onReady?: (h: AuthHandle) => void): Promise<FastifyInstance> {
  const latest = new LatestReadings();
  const gw = {
    latest,
    registry,
    pipeline: { stats: () => ({}) },
    writer: { stats: {} },
    rateLimiter: new DeviceRateLimiter({ ratePerS: 1, burst: 1 }),
  } as unknown as StatsSources;
  const devices: DeviceRoutesOptions = {
    registry,
    credentials: new CredentialStore({ redis, prefix, scrypt: FAST_SCRYPT }),
    unknown: new UnknownDevices({ redis, prefix }),
    actor: (req) => req.actor,
    watch: { latest, models, intervalMs: 60_000 },
  };
  return buildHttpServer({
    logger: quiet,
    root: [
      authPlugin({
        required,
        tokens: API_TOKENS,
        ...(onReady ? { onReady } : {}),
      }),
      healthRoutes({}),
      cameraRoutes({
        camera: () => undefined,
        budget: { acquireProcess: (purpose) => new ProcessBudget(1).acquire(purpose) },
        refreshReference: async () => ({ at: 0 }),
        // cameras.live.roles narrows the live view further; test/rtsp/live.test.ts covers that.
        roles: [...ROLES],
        tokens: API_TOKENS,
        authRequired: required,
        ffmpeg: 'ffmpeg',
        idleStopS: 1,
        logger: quiet,
      }),
    ],
    api: [
      { plugin: deadletterRoutes(new DeadLetterStore({ capacity: 10 })), prefix: '' },
      { plugin: statsRoutes(gw), prefix: '' },
      { plugin: devicesPlugin as never, prefix: '', options: devices },
      { plugin: alertingRoutes(alerting), prefix: '' },
      {
        plugin: modelRoutes(models, () => ({
          dir: null,
          watching: false,
          lastReloadAt: null,
          lastReloadError: null,
        })),
        prefix: '',
      },
      {
        plugin: snapshotRoutes({
          read: async () => {
            throw new GridgateError('GG_ERR_NOT_FOUND', 'no such snapshot');
          },
        }),
        prefix: '',
      },
    ],
  });
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  registry = new RedisRegistry({ redis, prefix, knownModels: (id) => models.get(id)?.family });
  await registry.start();
  await registry.add(gauge('fg-1'), 'test');
  app = await build(true, (h) => {
    handle = h;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  open = await build(false);
});
afterAll(async () => {
  await app?.close();
  await open?.close();
  await registry?.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

/** A real request; the body of an event stream is not read (only its status). */
async function call(
  key: string,
  token?: string,
): Promise<{ status: number; body: unknown; auth: string | null }> {
  const [method, path] = key.split(' ') as [string, string];
  const url = `${base}/api/v1${path.replace(':id', method === 'POST' && path.endsWith('/retire') ? 'gone-1' : 'fg-1')}`;
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const withBody = method === 'POST' || method === 'PATCH';
  if (withBody) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(withBody ? { body: '{}' } : {}) });
  const type = res.headers.get('content-type') ?? '';
  let body: unknown;
  if (type.startsWith('text/event-stream')) await res.body?.cancel();
  else body = type.includes('json') ? await res.json() : await res.text();
  return { status: res.status, body, auth: res.headers.get('www-authenticate') };
}

describe('the permission table', () => {
  it('has an entry for every registered /api/v1 route, and every entry is a registered route', () => {
    expect(handle).toBeDefined();
    expect(handle!.unmapped()).toEqual([]);
    expect(handle!.routes()).toEqual(Object.keys(PERMISSIONS).sort());
  });
});

describe.each(Object.keys(PERMISSIONS))('%s', (key) => {
  const allowed = new Set<Role>([...(PERMISSIONS as Record<string, readonly Role[]>)[key]!, 'admin']);

  it('answers 401 with WWW-Authenticate without a token or with an unknown one', async () => {
    const none = await call(key);
    expect(none.status).toBe(401);
    expect(none.auth).toBe('Bearer realm="gridgate"');
    expect(none.body).toMatchObject({ code: 'GG_ERR_UNAUTHORIZED' });
    const wrong = await call(key, 'gg_not_a_token');
    expect(wrong.status).toBe(401);
    expect(wrong.auth).toContain('error="invalid_token"');
    expect(wrong.body).toMatchObject({ code: 'GG_ERR_UNAUTHORIZED' });
  });

  it.each(ROLES.map((r) => [r]))('role %s', async (role) => {
    const res = await call(key, TOKENS[role]);
    if (allowed.has(role)) {
      expect([401, 403]).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
    } else {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'GG_ERR_FORBIDDEN' });
    }
  });
});

describe('around the table', () => {
  it('denies every role but admin on each route class: each role has an allowed and a denied route', () => {
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      const keys = Object.entries(PERMISSIONS).filter(([, roles]) => roles.includes(role));
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.length).toBeLessThan(Object.keys(PERMISSIONS).length);
    }
  });

  it('cannot be bypassed by spelling the path differently (percent-encoding, double slashes)', async () => {
    for (const path of [
      '/%61pi/v1/deadletters',
      '/api/v1/%64eadletters',
      '/%2561pi/v1/deadletters',
      '/api%2Fv1/deadletters',
    ]) {
      const res = await fetch(`${base}${path}`);
      expect([401, 404], path).toContain(res.status);
      expect(res.status === 404 || res.headers.get('www-authenticate') !== null, path).toBe(true);
    }
    const encoded = await fetch(`${base}/%61pi/v1/deadletters`);
    expect(encoded.status).toBe(401);
    const silence = await fetch(`${base}/%61pi/v1/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.reader}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(silence.status).toBe(403);
  });

  it('keeps /healthz open and asks for a token on an unknown /api path', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/api/v1/nothing-here`)).status).toBe(401);
    const r = await fetch(`${base}/api/v1/nothing-here`, {
      headers: { authorization: `Bearer ${TOKENS.reader}` },
    });
    expect(r.status).toBe(404);
  });

  it('accepts the scheme in any case and refuses other schemes', async () => {
    const lower = await fetch(`${base}/api/v1/stats`, {
      headers: { authorization: `bearer ${TOKENS.reader}` },
    });
    expect(lower.status).toBe(200);
    const basic = await fetch(`${base}/api/v1/stats`, {
      headers: { authorization: `Basic ${TOKENS.reader}` },
    });
    expect(basic.status).toBe(401);
  });

  it("records the token's name, never the token, as the actor of a change", async () => {
    const res = await fetch(`${base}/api/v1/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.installer}`, 'content-type': 'application/json' },
      body: JSON.stringify(gauge('fg-by-installer')),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { device: { createdBy: string } };
    expect(body.device.createdBy).toBe('installer-holder');
    expect(JSON.stringify(await registry.audit({ id: 'fg-by-installer' }))).not.toContain(TOKENS.installer);
  });

  it('with auth.required false lets everyone through as anonymous', async () => {
    const res = await open.inject({ method: 'POST', url: '/api/v1/devices', payload: gauge('fg-anon') });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ device: { createdBy: 'anonymous' } });
    expect((await open.inject({ url: '/api/v1/rules' })).statusCode).toBe(200);
  });

  it('gives pino redact paths that keep the authorization header out of logs', () => {
    const lines: string[] = [];
    const log = pino(
      { redact: { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' } },
      {
        write: (l: string) => void lines.push(l),
      },
    );
    log.info({ req: { headers: { authorization: `Bearer ${TOKENS.admin}` } } }, 'request');
    log.info({ device: { id: 'x', secret: 's3cret-value' }, password: 'pw-value' }, 'device');
    const out = lines.join('');
    expect(out).not.toContain(TOKENS.admin);
    expect(out).not.toContain('s3cret-value');
    expect(out).not.toContain('pw-value');
    expect(out).toContain('[redacted]');
  });
});
