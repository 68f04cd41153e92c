import { readFileSync } from 'node:fs';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { LiveHub } from '../../../adapters/rtsp/live-hub.js';
import type { LiveBudget, LiveCamera, LiveRelay } from '../../../adapters/rtsp/live-relay.js';
import { type ErrorCode, GridgateError } from '../../../processors/errors.js';
import { API_PREFIX, type ApiToken, bearer, type Role, verifyToken } from '../auth.js';
import {
  JSMPEG_SCRIPT_PATH,
  LIVE_SUBPROTOCOL,
  LIVE_VIEW_HTML,
  LIVE_VIEW_SCRIPT,
  LIVE_VIEW_SCRIPT_PATH,
} from '../static/live-view.js';

export interface CameraRoutesOptions {
  /** The camera's stream settings (main url, credentials, transport), undefined when unknown. */
  camera(id: string): LiveCamera | undefined;
  /** The shared ffmpeg process budget: the CameraSupervisor (acquireProcess). */
  budget: LiveBudget;
  /** Installer's "this is the right scene" (CameraSupervisor.refreshReference). */
  refreshReference(id: string): Promise<{ at: number }>;
  /** cameras.live.roles; admin may always view. */
  roles: readonly Role[];
  /** auth.tokens */
  tokens: readonly ApiToken[];
  /** auth.required; false lets anyone view (local demo only), as for the rest of the API. */
  authRequired?: boolean;
  /** cameras.ffmpeg */
  ffmpeg: string;
  /** cameras.live.idleStopS */
  idleStopS: number;
  logger: Logger;
  /** Tests pass their own to look at the relays; default: one built from the options above. */
  hub?: LiveHub;
}

const LIVE_PATH = new RegExp(`^${API_PREFIX}/cameras/([^/]+)/live$`);
const SUBPROTOCOL_BEARER = 'bearer.';
/** Ping period; a viewer that has not answered the previous ping by the next is dropped. */
const HEARTBEAT_MS = 15_000;
const CLOSE_GRACE_MS = 1000;

type Viewer = { name: string; role: Role | undefined };
type Verdict =
  | { ok: true; viewer: Viewer; camera: LiveCamera }
  | { ok: false; status: number; code: ErrorCode; message: string };

/**
 * Cameras on the gateway's own HTTP server (issue 17):
 * - `GET /api/v1/cameras/:id/live` upgraded to a WebSocket: MPEG-TS (MPEG-1 video) for JSMpeg,
 *   authenticated by `Authorization: Bearer` or the subprotocol `bearer.<token>`, for the roles
 *   in cameras.live.roles. Without an upgrade the same url answers the same checks with 426, so
 *   the page can say why it may not view.
 * - `GET /cameras/:id/view`: the page that plays it (static, no secrets; outside /api, open).
 * - `POST /api/v1/cameras/:id/reference`: take a new reference frame (installer).
 * Register it among the root plugins, after the auth plugin.
 */
export function cameraRoutes(opts: CameraRoutesOptions): FastifyPluginAsync {
  return async (app) => {
    const log = opts.logger.child({ component: 'live' });
    const hub =
      opts.hub ??
      new LiveHub({
        ffmpeg: opts.ffmpeg,
        budget: opts.budget,
        idleStopMs: opts.idleStopS * 1000,
        logger: log,
      });
    const required = opts.authRequired ?? true;
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: 1024,
      // Select the page's named protocol so the token is not echoed; a client that offered only
      // the bearer one must get one back (RFC 6455 §4.1: else the client fails the connection).
      handleProtocols: (offered) =>
        offered.has(LIVE_SUBPROTOCOL)
          ? LIVE_SUBPROTOCOL
          : ([...offered].find((p) => p.startsWith(SUBPROTOCOL_BEARER)) ?? false),
    });
    const alive = new WeakSet<WebSocket>();

    const decide = (token: string | undefined, rawId: string): Verdict => {
      let viewer: Viewer = { name: 'anonymous', role: undefined };
      if (required) {
        const who = token === undefined ? undefined : verifyToken(opts.tokens, token);
        if (!who) {
          const message =
            token === undefined
              ? 'the live view needs a bearer token: Authorization: Bearer <token>, or the WebSocket subprotocol bearer.<token>'
              : 'the bearer token is not known to this gateway; check it against auth.tokens';
          return fail(401, 'GG_ERR_UNAUTHORIZED', message);
        }
        if (who.role !== 'admin' && !opts.roles.includes(who.role)) {
          return fail(
            403,
            'GG_ERR_FORBIDDEN',
            `role '${who.role}' may not open a live view; allowed: ${[...opts.roles, 'admin'].join(', ')} (cameras.live.roles)`,
          );
        }
        viewer = who;
      }
      let camera: LiveCamera | undefined;
      try {
        camera = opts.camera(rawId);
      } catch (err) {
        log.error({ err: (err as Error).message, camera: rawId }, 'camera lookup failed');
      }
      if (!camera) return fail(404, 'GG_ERR_NOT_FOUND', `no camera '${rawId}'`);
      return { ok: true, viewer, camera };
    };

    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      socket.on('error', () => {}); // a client resetting mid-handshake must not crash the gateway
      const m = LIVE_PATH.exec(pathOf(req.url));
      if (!m) {
        // Node hands every upgrade to the 'upgrade' listeners once there is one; answer those no
        // other listener is there for.
        if (app.server.listenerCount('upgrade') === 1)
          refuse(socket, 404, 'GG_ERR_NOT_FOUND', 'no WebSocket here');
        return;
      }
      const id = decodeSegment(m[1]!);
      const verdict =
        id === undefined ? fail(404, 'GG_ERR_NOT_FOUND', 'no such camera') : decide(tokenOf(req), id);
      if (!verdict.ok) {
        refuse(socket, verdict.status, verdict.code, verdict.message, verdict.status === 401);
        return;
      }
      let relay: LiveRelay;
      try {
        relay = hub.open(verdict.camera);
      } catch (err) {
        const cap = err instanceof GridgateError && err.code === 'GG_ERR_CAMERA_CAP';
        if (!cap)
          log.error({ err: (err as Error).message, camera: verdict.camera.id }, 'live relay did not start');
        refuse(socket, 503, cap ? 'GG_ERR_CAMERA_CAP' : 'GG_ERR_CAMERA_UNAVAILABLE', (err as Error).message);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const who = verdict.viewer;
        alive.add(ws);
        hub.join(relay, ws);
        log.info({ camera: relay.id, actor: who.name, viewers: relay.viewerCount }, 'live viewer joined');
        ws.on('pong', () => alive.add(ws));
        ws.on('error', (err) =>
          log.debug({ camera: relay.id, err: err.message }, 'live viewer socket error'),
        );
        ws.on('close', () => {
          hub.leave(relay, ws);
          log.info({ camera: relay.id, actor: who.name, viewers: relay.viewerCount }, 'live viewer left');
        });
      });
    };
    app.server.on('upgrade', onUpgrade);

    const heartbeat = setInterval(() => {
      for (const ws of wss.clients) {
        if (!alive.has(ws)) {
          ws.terminate();
          continue;
        }
        alive.delete(ws);
        ws.ping();
      }
    }, HEARTBEAT_MS);
    heartbeat.unref();

    // Before the server closes: it waits for every connection, upgraded ones included.
    app.addHook('preClose', async () => {
      app.server.off('upgrade', onUpgrade);
      clearInterval(heartbeat);
      await Promise.all([...wss.clients].map((ws) => closeSocket(ws)));
    });
    app.addHook('onClose', async () => {
      await hub.stop();
      wss.close();
    });

    app.get<{ Params: { id: string } }>(`${API_PREFIX}/cameras/:id/live`, async (req, reply) => {
      const verdict = decide(bearer(req), req.params.id);
      if (!verdict.ok) return send(reply, verdict.status, verdict.code, verdict.message);
      const view = `/cameras/${encodeURIComponent(verdict.camera.id)}/view`;
      const message = `open this url as a WebSocket (RFC 6455) with subprotocol bearer.<token>, or view it at ${view}`;
      return send(reply.header('upgrade', 'websocket'), 426, 'GG_ERR_BAD_REQUEST', message);
    });

    app.post<{ Params: { id: string } }>(`${API_PREFIX}/cameras/:id/reference`, async (req) => {
      const id = req.params.id;
      if (!opts.camera(id)) throw new GridgateError('GG_ERR_NOT_FOUND', `no camera '${id}'`);
      // GG_ERR_CAMERA_UNAVAILABLE (camera offline, no keyframe in time) leaves as the catalogue's 503.
      const { at } = await opts.refreshReference(id);
      log.info({ camera: id, actor: req.actor }, 'camera reference frame replaced');
      return { camera: id, at };
    });

    app.get('/cameras/:id/view', async (_req, reply) =>
      page(reply, 'text/html; charset=utf-8').send(LIVE_VIEW_HTML),
    );
    app.get(LIVE_VIEW_SCRIPT_PATH, async (_req, reply) =>
      page(reply, 'text/javascript; charset=utf-8').send(LIVE_VIEW_SCRIPT),
    );
    app.get(JSMPEG_SCRIPT_PATH, async (_req, reply) =>
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .header('x-content-type-options', 'nosniff')
        .send(jsmpegScript()),
    );
  };
}

function fail(status: number, code: ErrorCode, message: string): Verdict {
  return { ok: false, status, code, message };
}

/** The token from `Authorization: Bearer`, else from the subprotocol `bearer.<token>`; never from the query. */
function tokenOf(req: IncomingMessage): string | undefined {
  const header = bearer(req);
  if (header !== undefined) return header;
  const offered = req.headers['sec-websocket-protocol'];
  if (typeof offered !== 'string') return undefined;
  for (const p of offered.split(',')) {
    const v = p.trim();
    if (v.startsWith(SUBPROTOCOL_BEARER) && v.length > SUBPROTOCOL_BEARER.length) {
      return v.slice(SUBPROTOCOL_BEARER.length);
    }
  }
  return undefined;
}

function pathOf(url: string | undefined): string {
  return (url ?? '').split('?', 1)[0] ?? '';
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** An HTTP answer on the raw socket, then the socket is destroyed (the handshake is refused). */
function refuse(socket: Duplex, status: number, code: ErrorCode, message: string, challenge = false): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ code, message, details: [] });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    // RFC 6750 §3
    ...(challenge ? ['WWW-Authenticate: Bearer realm="gridgate"'] : []),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

function send(reply: FastifyReply, status: number, code: ErrorCode, message: string) {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="gridgate"');
  return reply.status(status).send({ code, message, details: [] });
}

function page(reply: FastifyReply, type: string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header(
      'content-security-policy',
      // JSMpeg compiles its decoder with WebAssembly ('wasm-unsafe-eval'); connect-src 'self' covers ws(s) to this host.
      "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
}

/** Going away (RFC 6455 §7.4.1, 1001), then cut after a grace period. */
function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve();
    const t = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    ws.close(1001, 'gateway stopping');
  });
}

let jsmpeg: Buffer | undefined;

/** JSMpeg's browser build, found through the package's own entry point (not the working directory). */
function jsmpegScript(): Buffer {
  if (!jsmpeg) {
    const main = createRequire(import.meta.url).resolve('@cycjimmy/jsmpeg-player');
    jsmpeg = readFileSync(join(dirname(main), 'jsmpeg-player.umd.min.js'));
  }
  return jsmpeg;
}
