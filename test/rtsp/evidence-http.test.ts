import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotStore } from '../../adapters/rtsp/snapshot-store.js';
import { type AuthHandle, authPlugin, ROLES, type Role, tokenHash } from '../../gateway/http/auth.js';
import { snapshotRoutes } from '../../gateway/http/routes/snapshots.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { testJpeg } from './jpeg-fixture.js';

const quiet = pino({ level: 'silent' });
const TOKENS = Object.fromEntries(ROLES.map((r) => [r, `gg_test_${r}_${randomUUID()}`])) as Record<
  Role,
  string
>;

let base: string;
let store: SnapshotStore;
let app: FastifyInstance;
let handle: AuthHandle | undefined;
let url = '';
let jpeg: Buffer;
let path = '';

/** The gateway's HTTP server as gateway/app.ts builds it: auth first, then the route under /api/v1. */
beforeAll(async () => {
  jpeg = testJpeg();
  base = await mkdtemp(join(tmpdir(), 'gg-snap-http-'));
  store = new SnapshotStore({ dir: join(base, 'snapshots'), maxAgeH: 24, maxMB: 10, logger: quiet });
  await store.start();
  // A file next to the folder that a crafted name must never reach.
  await writeFile(join(base, 'outside.jpg'), 'outside');
  app = await buildHttpServer({
    logger: quiet,
    root: [
      authPlugin({
        required: true,
        tokens: ROLES.map((role) => ({ name: `${role}-holder`, role, sha256: tokenHash(TOKENS[role]) })),
        onReady: (h) => {
          handle = h;
        },
      }),
    ],
    api: [{ plugin: snapshotRoutes(store), prefix: '' }],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  path = (await store.save('cam-1', jpeg, Date.now())).url;
});

afterAll(async () => {
  await app?.close();
  await store?.stop();
  await rm(base, { recursive: true, force: true });
});

function get(p: string, token?: string): Promise<Response> {
  return fetch(`${url}${p}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
}

describe('GET /api/v1/snapshots/:file', () => {
  it('serves the JPEG to every reading role, not cacheable', async () => {
    for (const role of ROLES) {
      const res = await get(path, TOKENS[role]);
      expect(res.status, role).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await res.arrayBuffer()).equals(jpeg)).toBe(true);
    }
    expect(handle?.unmapped()).toEqual([]);
  });

  it('refuses a request without a token or with an unknown one (401), and says nothing about the file', async () => {
    const none = await get(path);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).not.toBe('image/jpeg');
    expect(await none.text()).not.toContain('cam-1');
    const wrong = await get(path, `gg_test_reader_${randomUUID()}`);
    expect(wrong.status).toBe(401);
    // Unknown and malformed names are refused before the route too.
    expect((await get('/api/v1/snapshots/nope.jpg')).status).toBe(401);
  });

  it('answers 404 for a well-formed name that is not stored, 400 for a name that is not a snapshot name', async () => {
    const reader = TOKENS.reader;
    const unknown = await get(`/api/v1/snapshots/cam-1-20300102T030405678Z-${'a'.repeat(32)}.jpg`, reader);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('GG_ERR_NOT_FOUND');
    for (const bad of ['nope.jpg', '..%2Foutside.jpg', '%2e%2e%2foutside.jpg', 'cam-1.jpg%00']) {
      const res = await get(`/api/v1/snapshots/${bad}`, reader);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('GG_ERR_BAD_REQUEST');
    }
    // A traversal that leaves the route matches no route at all: 404, never the file outside.
    const escaped = await get('/api/v1/snapshots/../../outside.jpg', reader);
    expect(escaped.status).toBe(404);
    expect(await escaped.text()).not.toBe('outside');
  });
});
