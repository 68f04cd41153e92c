import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { Script } from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { LiveHub } from '../../adapters/rtsp/live-hub.js';
import type { LiveCamera } from '../../adapters/rtsp/live-relay.js';
import { TS_PACKET, TS_SYNC } from '../../adapters/rtsp/live-ts.js';
import { ProcessBudget } from '../../adapters/rtsp/process-budget.js';
import { authPlugin, tokenHash } from '../../gateway/http/auth.js';
import { cameraRoutes } from '../../gateway/http/routes/cameras.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { GridgateError } from '../../processors/errors.js';
import { type RtspSim, startRtspSim } from '../../simulators/rtsp/server.js';

// Characters that need percent-encoding in a url, so both spellings are looked for in the logs.
const PASSWORD = 'Live@Pass:7x/q';
const TOKENS = {
  installer: 'gg_installer-live-token',
  engineer: 'gg_engineer-live-token',
  reader: 'gg_reader-live-token',
  admin: 'gg_admin-live-token',
} as const;
const IDLE_STOP_MS = 600;

interface Harness {
  app: FastifyInstance;
  base: string;
  hub: LiveHub;
  budget: ProcessBudget;
}

async function serve(opts: {
  camera: (id: string) => LiveCamera | undefined;
  budget: ProcessBudget;
  logger: pino.Logger;
  refreshReference?: (id: string) => Promise<{ at: number }>;
}): Promise<Harness> {
  const hub = new LiveHub({
    ffmpeg: 'ffmpeg',
    budget: { acquireProcess: (p) => opts.budget.acquire(p) },
    idleStopMs: IDLE_STOP_MS,
    logger: opts.logger.child({ component: 'live' }),
    stallMs: 3000,
    backoff: { initialMs: 300, maxMs: 1500 },
  });
  const tokens = Object.entries(TOKENS).map(([role, token]) => ({
    name: `${role}-1`,
    role: role as keyof typeof TOKENS,
    sha256: tokenHash(token),
  }));
  const app = await buildHttpServer({
    logger: opts.logger,
    root: [
      authPlugin({ required: true, tokens }),
      cameraRoutes({
        camera: opts.camera,
        budget: { acquireProcess: (p) => opts.budget.acquire(p) },
        refreshReference: opts.refreshReference ?? (async () => ({ at: 1 })),
        roles: ['installer', 'engineer'],
        tokens,
        ffmpeg: 'ffmpeg',
        idleStopS: IDLE_STOP_MS / 1000,
        logger: opts.logger,
        hub,
      }),
    ],
    api: [],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('no address');
  return { app, base: `127.0.0.1:${addr.port}`, hub, budget: opts.budget };
}

/** A viewer that keeps every binary message. */
function view(
  url: string,
  opts: { token?: string; protocols?: string[] } = {},
): { ws: WebSocket; chunks: Buffer[]; bytes: () => number; closed: () => boolean } {
  const ws = new WebSocket(url, opts.protocols ?? [], {
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
  });
  const chunks: Buffer[] = [];
  let closed = false;
  ws.on('message', (d: Buffer) => chunks.push(d));
  ws.on('close', () => {
    closed = true;
  });
  ws.on('error', () => {});
  return { ws, chunks, bytes: () => chunks.reduce((n, c) => n + c.length, 0), closed: () => closed };
}

/** The HTTP status of a refused handshake (ws's 'unexpected-response'), or 101 when it opened. */
function handshake(url: string, opts: { token?: string; protocols?: string[] } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], {
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
    });
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (err) => reject(err));
  });
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function expectTransportStream(chunks: Buffer[]): void {
  const all = Buffer.concat(chunks);
  expect(all.length).toBeGreaterThanOrEqual(TS_PACKET * 10);
  for (const c of chunks) expect(c.length % TS_PACKET).toBe(0);
  for (let i = 0; i < all.length; i += TS_PACKET) expect(all[i]).toBe(TS_SYNC);
}

describe('live view over the gateway HTTP server (real simulator, real ffmpeg)', () => {
  let sim: RtspSim;
  let h: Harness;
  const lines: string[] = [];
  let cameras: Record<string, LiveCamera>;
  let refreshFails = false;

  beforeAll(async () => {
    sim = await startRtspSim({ cameras: ['cam1'], username: 'admin', password: PASSWORD, fps: 10 });
    cameras = {
      cam1: {
        id: 'cam1',
        url: sim.url('cam1', 'main'),
        username: 'admin',
        password: PASSWORD,
        transport: 'tcp',
      },
    };
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    h = await serve({
      camera: (id) => cameras[id],
      budget: new ProcessBudget(10),
      logger,
      refreshReference: async () => {
        if (refreshFails) throw new GridgateError('GG_ERR_CAMERA_UNAVAILABLE', 'camera offline');
        return { at: 1_700_000_000_000 };
      },
    });
  });

  afterAll(async () => {
    await h?.app.close();
    await sim?.stop();
  });

  it('streams MPEG-TS with MPEG-1 video to an installer token (Authorization header)', async () => {
    const v = view(`ws://${h.base}/api/v1/cameras/cam1/live`, { token: TOKENS.installer });
    await until('MPEG-TS bytes', () => v.bytes() >= TS_PACKET * 200);
    expectTransportStream(v.chunks);
    // MPEG-1 sequence header start code (ISO/IEC 11172-2 §2.4.2.3): the camera's H.264 was re-encoded.
    expect(Buffer.concat(v.chunks).includes(Buffer.from([0, 0, 1, 0xb3]))).toBe(true);
    // The camera's url and password are not in any ffmpeg's argv (readable by every local user).
    for (const pid of h.hub.status('cam1')?.pids ?? []) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      expect(argv).not.toContain(PASSWORD);
      expect(argv).not.toContain(encodeURIComponent(PASSWORD));
    }
    expect(h.hub.status('cam1')?.pids).toHaveLength(2);
    v.ws.close();
  });

  it('accepts the token as subprotocol bearer.<token> and selects the named protocol', async () => {
    const v = view(`ws://${h.base}/api/v1/cameras/cam1/live`, {
      protocols: ['gridgate.live', `bearer.${TOKENS.engineer}`],
    });
    await until('MPEG-TS bytes', () => v.bytes() >= TS_PACKET * 20);
    expect(v.ws.protocol).toBe('gridgate.live');
    expectTransportStream(v.chunks);
    v.ws.close();
  });

  it('refuses the handshake: 401 without or with an unknown token, 403 for a role not allowed, 404 for an unknown camera', async () => {
    const url = `ws://${h.base}/api/v1/cameras/cam1/live`;
    expect(await handshake(url)).toBe(401);
    expect(await handshake(url, { token: 'gg_not-a-token' })).toBe(401);
    expect(await handshake(url, { protocols: ['gridgate.live', 'bearer.gg_wrong'] })).toBe(401);
    // A token in the query string is never read (it would land in access logs).
    expect(await handshake(`${url}?token=${TOKENS.installer}`)).toBe(401);
    expect(await handshake(url, { token: TOKENS.reader })).toBe(403);
    expect(await handshake(`ws://${h.base}/api/v1/cameras/nope/live`, { token: TOKENS.installer })).toBe(404);
    // Unauthenticated callers learn nothing about which cameras exist.
    expect(await handshake(`ws://${h.base}/api/v1/cameras/nope/live`)).toBe(401);
    expect(await handshake(url, { token: TOKENS.admin })).toBe(101);
    // Other upgrade paths are not served.
    expect(await handshake(`ws://${h.base}/api/v1/devices/x/watch`, { token: TOKENS.admin })).toBe(404);
  });

  it('answers the same checks over plain HTTP, for the page to explain a refusal', async () => {
    const get = (token?: string, cam = 'cam1') =>
      fetch(`http://${h.base}/api/v1/cameras/${cam}/live`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    expect((await get()).status).toBe(401);
    const reader = await get(TOKENS.reader);
    expect(reader.status).toBe(403);
    expect(((await reader.json()) as { code: string }).code).toBe('GG_ERR_FORBIDDEN');
    expect((await get(TOKENS.installer, 'nope')).status).toBe(404);
    expect((await get(TOKENS.installer)).status).toBe(426);
  });

  it('serves the viewer page and JSMpeg, with no secret in them', async () => {
    const page = await fetch(`http://${h.base}/cameras/cam1/view`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('/cameras/static/jsmpeg-player.umd.min.js');
    expect(html).toContain('/cameras/static/live-view.js');
    const script = await (await fetch(`http://${h.base}/cameras/static/live-view.js`)).text();
    expect(script).toContain("'bearer.' + token");
    expect(script).toContain('sessionStorage');
    new Script(script, { filename: 'live-view.js' }); // compiles: a syntax error would throw here
    for (const text of [html, script]) {
      for (const token of Object.values(TOKENS)) expect(text).not.toContain(token);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('rtsp://');
    }
    const jsmpeg = await fetch(`http://${h.base}/cameras/static/jsmpeg-player.umd.min.js`);
    expect(jsmpeg.status).toBe(200);
    expect(await jsmpeg.text()).toContain('JSMpeg');
  });

  it('stops the relay and its ffmpeg processes idleStopS after the last viewer leaves', async () => {
    const v = view(`ws://${h.base}/api/v1/cameras/cam1/live`, { token: TOKENS.installer });
    await until('MPEG-TS bytes', () => v.bytes() > 0);
    const pids = h.hub.status('cam1')?.pids ?? [];
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    expect(h.budget.count()).toBe(2);
    v.ws.close();
    await until('relay stopped', () => h.hub.status('cam1') === undefined && !pids.some(alive));
    expect(h.budget.count()).toBe(0);
  });

  it('restarts after the camera goes offline and comes back; the viewer stays connected', async () => {
    const v = view(`ws://${h.base}/api/v1/cameras/cam1/live`, { token: TOKENS.installer });
    await until('MPEG-TS bytes', () => v.bytes() >= TS_PACKET * 20);
    const firstPids = h.hub.status('cam1')?.pids ?? [];
    await sim.fault('cam1', 'offline');
    await until('the relay to notice', () => (h.hub.status('cam1')?.restarts ?? 0) >= 1);
    // While offline, the reconnects fail (ffmpeg echoes the url with credentials in its error).
    await until('a failed reconnect', () => (h.hub.status('cam1')?.restarts ?? 0) >= 2);
    await sim.fault('cam1', 'ok');
    const before = v.chunks.length;
    await until('MPEG-TS again', () => v.chunks.length >= before + 10, 30_000);
    expectTransportStream(v.chunks.slice(before));
    expect(v.closed()).toBe(false);
    expect(v.ws.readyState).toBe(WebSocket.OPEN);
    expect(firstPids.some(alive)).toBe(false);
    const status = h.hub.status('cam1');
    expect(status?.lastError).toBeTruthy();
    expect(status?.lastError).not.toContain(PASSWORD);
    v.ws.close();
  });

  it('restarts when the camera keeps the connection but stops sending (stall)', async () => {
    const v = view(`ws://${h.base}/api/v1/cameras/cam1/live`, { token: TOKENS.installer });
    await until('MPEG-TS bytes', () => v.bytes() >= TS_PACKET * 20);
    const restarts = h.hub.status('cam1')?.restarts ?? 0;
    await sim.fault('cam1', 'stall');
    await until('the stall to be noticed', () => (h.hub.status('cam1')?.restarts ?? 0) > restarts);
    await sim.fault('cam1', 'ok');
    const before = v.chunks.length;
    await until('MPEG-TS again', () => v.chunks.length >= before + 10, 30_000);
    expect(v.ws.readyState).toBe(WebSocket.OPEN);
    v.ws.close();
  });

  it('POST /cameras/:id/reference: installer refreshes, reader may not, unknown 404', async () => {
    const post = (token: string, cam = 'cam1') =>
      fetch(`http://${h.base}/api/v1/cameras/${cam}/reference`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
    const ok = await post(TOKENS.installer);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ camera: 'cam1', at: 1_700_000_000_000 });
    expect((await post(TOKENS.reader)).status).toBe(403);
    expect((await post(TOKENS.installer, 'nope')).status).toBe(404);
    refreshFails = true;
    const offline = await post(TOKENS.installer);
    expect(offline.status).toBe(503);
    expect(((await offline.json()) as { code: string }).code).toBe('GG_ERR_CAMERA_UNAVAILABLE');
  });

  it('closing the server closes viewers (1001 going away) and ends the relay processes', async () => {
    const other = await serve({
      camera: (id) => cameras[id],
      budget: new ProcessBudget(4),
      logger: pino({ level: 'silent' }),
    });
    const v = view(`ws://${other.base}/api/v1/cameras/cam1/live`, { token: TOKENS.installer });
    const code = new Promise<number>((resolve) => v.ws.on('close', (c: number) => resolve(c)));
    await until('MPEG-TS bytes', () => v.bytes() > 0);
    const pids = other.hub.status('cam1')?.pids ?? [];
    expect(pids).toHaveLength(2);
    await other.app.close();
    expect(await code).toBe(1001);
    expect(pids.some(alive)).toBe(false);
    expect(other.budget.count()).toBe(0);
  });

  it('never logs the camera password', () => {
    // The offline test made ffmpeg fail with the url in its message; the relay logged that loss.
    expect(lines.some((l) => l.includes('live relay lost its stream'))).toBe(true);
    expect(lines.some((l) => l.includes("Impossible to open 'rtsp://***@127.0.0.1"))).toBe(true);
    // ffmpeg names its input `pipe:0` (the url comes on stdin); the log names the camera's url instead.
    const lost = lines.filter((l) => l.includes('live relay lost its stream'));
    expect(lost.some((l) => l.includes(`${sim.url('cam1', 'main')}: `))).toBe(true);
    expect(lost.filter((l) => l.includes('pipe:0'))).toEqual([]);
    for (const l of lines) {
      expect(l).not.toContain(PASSWORD);
      expect(l).not.toContain(encodeURIComponent(PASSWORD));
      for (const token of Object.values(TOKENS)) expect(l).not.toContain(token);
    }
  });
});

describe('live view process budget', () => {
  it('refuses a live view with 503 GG_ERR_CAMERA_CAP when the shared budget is spent', async () => {
    const budget = new ProcessBudget(1);
    const h = await serve({
      camera: (id) =>
        id === 'c' ? { id: 'c', url: 'rtsp://127.0.0.1:9/none', transport: 'tcp' } : undefined,
      budget,
      logger: pino({ level: 'silent' }),
    });
    try {
      expect(await handshake(`ws://${h.base}/api/v1/cameras/c/live`, { token: TOKENS.installer })).toBe(503);
      expect(budget.count()).toBe(0);
      expect(h.hub.status('c')).toBeUndefined();
    } finally {
      await h.app.close();
    }
  });
});
