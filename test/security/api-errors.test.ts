import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import type { Alerting } from '../../gateway/alerting.js';
import { authPlugin, tokenHash } from '../../gateway/http/auth.js';
import { alertingRoutes } from '../../gateway/http/routes/alerting.js';
import { devicesPlugin } from '../../gateway/http/routes/devices.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { ERRORS, type ErrorCode, GridgateError, isErrorCode } from '../../processors/errors.js';
import { knownModels } from '../registry/fixtures.js';

let redis: Redis;
let registry: RedisRegistry;
let app: FastifyInstance;
let base: string;
const prefix = `gg-test:${randomUUID()}:`;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  registry = new RedisRegistry({ redis, prefix, knownModels });
  await registry.start();
  app = await buildHttpServer({
    logger: pino({ level: 'silent' }),
    root: [],
    api: [
      { plugin: devicesPlugin as never, prefix: '', options: { registry } },
      {
        // routes standing in for any route with a schema, and any bug
        plugin: (async (api: FastifyInstance) => {
          api.post(
            '/echo',
            {
              schema: {
                body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
              },
            },
            async (req) => req.body,
          );
          api.get('/boom', async () => {
            throw new Error('ENOENT: /var/lib/gridgate/secret.key');
          });
        }) as never,
        prefix: '/test',
      },
    ],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await app?.close();
  await registry?.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis?.quit();
});

/** A real HTTP request; asserts the documented error shape and returns its code and message. */
async function apiError(
  path: string,
  init: { method?: string; body?: string; type?: string; token?: string; at?: string } = {},
): Promise<{ status: number; code: ErrorCode; message: string; details: string[] }> {
  const headers: Record<string, string> = init.type ? { 'content-type': init.type } : {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(`${init.at ?? base}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body,
  });
  const body = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort(), JSON.stringify(body)).toEqual(['code', 'details', 'message']);
  expect(isErrorCode(body.code), String(body.code)).toBe(true);
  const code = body.code as ErrorCode;
  expect(res.status).toBe(ERRORS[code].statusCode);
  expect(typeof body.message).toBe('string');
  expect(Array.isArray(body.details)).toBe(true);
  return { status: res.status, code, message: body.message as string, details: body.details as string[] };
}

describe('the error catalogue', () => {
  it('gives every code one entry: its own name, a message template and an HTTP status', () => {
    for (const [key, e] of Object.entries(ERRORS)) {
      expect(e.code).toBe(key);
      expect(e.template.length).toBeGreaterThan(5);
      expect(e.statusCode >= 400 && e.statusCode <= 599, key).toBe(true);
    }
    expect(ERRORS.GG_ERR_NOT_FOUND.statusCode).toBe(404);
    expect(new GridgateError('GG_ERR_CONFLICT', 'x').statusCode).toBe(409);
    expect(GridgateError.of('GG_ERR_ROUTE_NOT_FOUND', ['GET', '/x']).message).toBe(
      'GG_ERR_ROUTE_NOT_FOUND: no route GET /x; the API is under /api/v1 (see the README, "HTTP API")',
    );
  });
});

describe('every error the API returns is {code, message, details} with a catalogue code', () => {
  it('an unknown route or method', async () => {
    expect((await apiError('/api/v1/nothing-here')).code).toBe('GG_ERR_ROUTE_NOT_FOUND');
    expect((await apiError('/nothing')).message).toMatch(/no route GET \/nothing/);
    expect((await apiError('/api/v1/devices', { method: 'DELETE' })).code).toBe('GG_ERR_ROUTE_NOT_FOUND');
  });

  it('a body that is not JSON, or empty', async () => {
    const bad = await apiError('/api/v1/devices', { body: '{"id": ', type: 'application/json' });
    expect(bad.code).toBe('GG_ERR_BODY_INVALID');
    expect(bad.message).toMatch(/not valid JSON/);
    const empty = await apiError('/api/v1/devices', { body: '', type: 'application/json' });
    expect(empty.code).toBe('GG_ERR_BODY_INVALID');
    expect(empty.message).toMatch(/empty/);
  });

  it('a body holding __proto__ or constructor.prototype says which key is not allowed', async () => {
    const proto = await apiError('/api/v1/devices', {
      body: '{"id":"x","__proto__":{"admin":true}}',
      type: 'application/json',
    });
    expect(proto.code).toBe('GG_ERR_BODY_FORBIDDEN_KEY');
    expect(proto.message).toMatch(/key "__proto__".*not allowed/);
    expect(proto.message).not.toMatch(/not valid JSON/);
    const escaped = await apiError('/api/v1/devices', {
      body: '{"attrs":{"\\u005f_proto__":{"x":1}}}',
      type: 'application/json',
    });
    expect(escaped.code).toBe('GG_ERR_BODY_FORBIDDEN_KEY');
    const ctor = await apiError('/api/v1/devices', {
      body: '{"constructor":{"prototype":{"x":1}}}',
      type: 'application/json',
    });
    expect(ctor.code).toBe('GG_ERR_BODY_FORBIDDEN_KEY');
    expect(ctor.message).toMatch(/constructor\.prototype/);
  });

  it('an unsupported content type, CSV included where only the import takes it', async () => {
    const plain = await apiError('/api/v1/devices', { body: 'id=1', type: 'text/plain' });
    expect(plain.code).toBe('GG_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(plain.message).toMatch(/text\/plain/);
    const csv = await apiError('/api/v1/devices', { body: 'id\nx\n', type: 'text/csv' });
    expect(csv.code).toBe('GG_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('a body over the route limit', async () => {
    const big = JSON.stringify({ id: 'big', attrs: { note: 'x'.repeat(100 * 1024) } });
    const r = await apiError('/api/v1/devices', { body: big, type: 'application/json' });
    expect(r.code).toBe('GG_ERR_BODY_TOO_LARGE');
    expect(r.message).toMatch(/65536 bytes.*POST \/api\/v1\/devices/);
  });

  it('schema validation and registry validation', async () => {
    const schema = await apiError('/api/v1/test/echo', { body: '{}', type: 'application/json' });
    expect(schema.code).toBe('GG_ERR_BAD_REQUEST');
    expect(schema.details.join('\n')).toMatch(/name/);
    const invalid = await apiError('/api/v1/devices', {
      body: '{"id":"no-model"}',
      type: 'application/json',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.details.length).toBeGreaterThan(0);
  });

  it('a failure inside a handler: GG_ERR_INTERNAL, naming the request, never the cause', async () => {
    const r = await apiError('/api/v1/test/boom');
    expect(r.code).toBe('GG_ERR_INTERNAL');
    expect(r.message).toMatch(/request \S+/);
    expect(r.message).not.toMatch(/ENOENT|secret\.key/);
  });

  it('not found from a route', async () => {
    expect((await apiError('/api/v1/devices/none-such')).code).toBe('GG_ERR_NOT_FOUND');
  });
});

describe('refusals outside the routes come from the catalogue too', () => {
  const reader = `gg_test_reader_${randomUUID()}`;
  const ruleError = { file: 'flood.yaml', line: 3, col: 5, ruleId: 'flood.level', message: 'unknown metric' };
  // The rules engine's routes need an Alerting; only the reload is called here.
  const alerting = {
    watcher: { reload: async () => ({ ok: false, errors: [ruleError] }) },
  } as unknown as Alerting;
  let secured: FastifyInstance;
  let at: string;
  beforeAll(async () => {
    secured = await buildHttpServer({
      logger: pino({ level: 'silent' }),
      root: [
        authPlugin({ required: true, tokens: [{ name: 'r', role: 'reader', sha256: tokenHash(reader) }] }),
      ],
      api: [{ plugin: alertingRoutes(alerting), prefix: '' }],
    });
    at = await secured.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await secured?.close();
  });

  it('no token, an unknown one, and a role that may not call the route', async () => {
    const none = await apiError('/api/v1/rules/reload', { method: 'POST', at });
    expect(none.code).toBe('GG_ERR_UNAUTHORIZED');
    expect(none.message).toMatch(/needs a bearer token/);
    const unknown = await apiError('/api/v1/rules/reload', { method: 'POST', at, token: 'gg_nope' });
    expect(unknown.message).toMatch(/not known to this gateway/);
    const denied = await apiError('/api/v1/rules/reload', { method: 'POST', at, token: reader });
    expect(denied.code).toBe('GG_ERR_FORBIDDEN');
    expect(denied.message).toMatch(
      /role 'reader' may not call POST \/rules\/reload; allowed: engineer, admin/,
    );
  });

  it('a rules reload that finds broken files', async () => {
    const open = await buildHttpServer({
      logger: pino({ level: 'silent' }),
      root: [],
      api: [{ plugin: alertingRoutes(alerting), prefix: '' }],
    });
    try {
      const r = await open.inject({ method: 'POST', url: '/api/v1/rules/reload' });
      expect(r.statusCode).toBe(ERRORS.GG_ERR_RULES_INVALID.statusCode);
      expect(r.json()).toEqual({
        code: 'GG_ERR_RULES_INVALID',
        message: 'GG_ERR_RULES_INVALID: rules not reloaded; the previous set keeps running',
        details: ['flood.yaml:3:5 rule flood.level: unknown metric'],
      });
    } finally {
      await open.close();
    }
  });
});
