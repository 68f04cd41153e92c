import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { devicesPlugin } from '../../gateway/http/routes/devices.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { knownModels } from '../registry/fixtures.js';

const IMPORT_LIMIT = 1024 * 1024;
let redis: Redis;
let registry: RedisRegistry;
let app: FastifyInstance;
let port: number;
const prefix = `gg-test:${randomUUID()}:`;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  registry = new RedisRegistry({ redis, prefix, knownModels });
  await registry.start();
  app = await buildHttpServer({
    logger: pino({ level: 'silent' }),
    root: [],
    api: [
      {
        plugin: devicesPlugin as never,
        prefix: '',
        options: { registry, importLimitBytes: IMPORT_LIMIT },
      },
    ],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
});
afterAll(async () => {
  await app?.close();
  await registry?.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis?.quit();
});

interface UploadResult {
  status: number;
  body: { code?: string; message?: string; details?: unknown[]; created?: number; rows?: number };
  /** Bytes the client had handed to its socket when the answer arrived. */
  sent: number;
}

/**
 * POSTs `total` bytes from `chunks()` with back-pressure, and stops sending when the answer comes.
 * With a server that does not read a refused body, the socket buffers fill and `sent` stays far
 * below `total`: the refusal came before the upload finished.
 */
function upload(
  path: string,
  type: string,
  total: number,
  chunk: (offset: number) => Buffer,
  opts: { chunked?: boolean } = {},
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      headers: { 'content-type': type, ...(opts.chunked ? {} : { 'content-length': String(total) }) },
    });
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString()), sent });
      });
    });
    // The server closes the connection after refusing: writes still in flight then fail.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const pump = () => {
      while (!answered && sent < total) {
        const c = chunk(sent);
        sent += c.length;
        if (!req.write(c)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

const SIXTY_MB = 60 * 1024 * 1024;
const spaces = Buffer.alloc(256 * 1024, 0x20); // JSON whitespace

describe('per-route body limits', () => {
  it('refuses a 60 MB POST /api/v1/devices with 413 before the upload is done (content-length)', async () => {
    const r = await upload('/api/v1/devices', 'application/json', SIXTY_MB, () => spaces);
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: 'GG_ERR_BODY_TOO_LARGE', details: [] });
    expect(r.body.message).toMatch(/65536 bytes/);
    expect(r.sent).toBeLessThan(SIXTY_MB / 2);
  });

  it('refuses it too when the client sends no length (chunked), reading no more than the limit', async () => {
    const r = await upload('/api/v1/devices', 'application/json', SIXTY_MB, () => spaces, { chunked: true });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('GG_ERR_BODY_TOO_LARGE');
    expect(r.sent).toBeLessThan(SIXTY_MB / 2);
  });

  it('refuses a PATCH over the small limit', async () => {
    const r = await upload('/api/v1/devices/x', 'application/json', 200 * 1024, () => spaces);
    expect(r.status).toBe(413);
  });
});

const HEADER = 'id,model,district,street,community,grid\n';
const row = (i: number) => `csv-${i},hydrotek-wl300,鼓楼区,相国寺街道,书店街社区,网格-${i % 50}\n`;

describe('the CSV import streams, with its own large limit', () => {
  it('imports a CSV far over the JSON limit, parsed from the request stream', async () => {
    const n = 4000;
    const lines = [HEADER, ...Array.from({ length: n }, (_, i) => row(i))];
    const text = Buffer.from(lines.join(''));
    expect(text.length).toBeGreaterThan(4 * 64 * 1024);
    expect(text.length).toBeLessThan(IMPORT_LIMIT);
    let at = 0;
    // 1 KiB pieces, chunked: the parser sees the body as it arrives, never as one string
    const r = await upload(
      '/api/v1/devices/import?source=big.csv',
      'text/csv',
      text.length,
      () => {
        const c = text.subarray(at, at + 1024);
        at += c.length;
        return c;
      },
      { chunked: true },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ rows: n, created: n });
    expect(registry.get('csv-3999')?.location.grid).toBe('网格-49');
  });

  it('refuses a CSV over the import limit with 413, importing nothing', async () => {
    const before = registry.list({}).length;
    let i = 100_000;
    const r = await upload(
      '/api/v1/devices/import',
      'text/csv',
      SIXTY_MB,
      (offset) => Buffer.from(offset === 0 ? HEADER : Array.from({ length: 200 }, () => row(i++)).join('')),
      { chunked: true },
    );
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('GG_ERR_BODY_TOO_LARGE');
    expect(r.body.message).toMatch(/importLimitMiB/);
    expect(r.sent).toBeLessThan(SIXTY_MB / 2);
    expect(registry.list({}).length).toBe(before);
  });

  it('refuses at once when content-length says the CSV is over the limit', async () => {
    const r = await upload('/api/v1/devices/import', 'text/csv', SIXTY_MB, () => spaces);
    expect(r.status).toBe(413);
    expect(r.sent).toBeLessThan(SIXTY_MB / 2);
  });

  it('reports a bad CSV header from the stream with the documented shape', async () => {
    const body = Buffer.from('id,model,colour\nx,y,z\n');
    const r = await upload('/api/v1/devices/import?source=bad.csv', 'text/csv', body.length, () => body);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('GG_ERR_DEVICES_INVALID');
    expect(JSON.stringify(r.body.details)).toMatch(/bad\.csv:1: unknown column\(s\) 'colour'/);
  });
});
