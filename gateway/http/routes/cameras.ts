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
import { ERRORS, type ErrorCode, GridgateError } from '../../../processors/errors.js';
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

/** The live url, with or without a query string (a query is ignored, never read for a token). */
const LIVE_PATH = new RegExp(`^${API_PREFIX}/cameras/([^/?]+)/live(?:\\?|$)`);
const SUBPROTOCOL_BEARER = 'bearer.';
/** Ping period; a viewer that has not answered the previous ping by the next is dropped. */
const HEARTBEAT_MS = 15_000;
const CLOSE_GRACE_MS = 1000;

type Verdict =
  | { ok: true; actor: string; camera: LiveCamera }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Cameras on the gateway's own HTTP server:
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
      const who = required && token !== undefined ? verifyToken(opts.tokens, token) : undefined;
      if (required && !who) {
        const message =
          token === undefined
            ? 'the live view needs a bearer token: Authorization: Bearer <token>, or the WebSocket subprotocol bearer.<token>'
            : 'the bearer token is not known to this gateway; check it against auth.tokens';
        return fail('GG_ERR_UNAUTHORIZED', message);
      }
      if (who && who.role !== 'admin' && !opts.roles.includes(who.role)) {
        return fail(
          'GG_ERR_FORBIDDEN',
          `role '${who.role}' may not open a live view; allowed: ${[...opts.roles, 'admin'].join(', ')} (cameras.live.roles)`,
        );
      }
      const camera = opts.camera(rawId);
      if (!camera) return fail('GG_ERR_NOT_FOUND', `no camera '${rawId}'`);
      return { ok: true, actor: who?.name ?? 'anonymous', camera };
    };

    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      socket.on('error', () => {}); // a client resetting mid-handshake must not crash the gateway
      const m = LIVE_PATH.exec(req.url ?? '');
      if (!m) {
        // Node hands every upgrade to the 'upgrade' listeners once there is one; answer those no
        // other listener is there for.
        if (app.server.listenerCount('upgrade') === 1)
          refuse(socket, 'GG_ERR_NOT_FOUND', 'no WebSocket here');
        return;
      }
      const id = decodeSegment(m[1]!);
      const verdict =
        id === undefined ? fail('GG_ERR_NOT_FOUND', 'no such camera') : decide(tokenOf(req), id);
      if (!verdict.ok) {
        refuse(socket, verdict.code, verdict.message);
        return;
      }
      let relay: LiveRelay;
      try {
        relay = hub.open(verdict.camera);
      } catch (err) {
        const cap = err instanceof GridgateError && err.code === 'GG_ERR_CAMERA_CAP';
        if (!cap)
          log.error({ err: (err as Error).message, camera: verdict.camera.id }, 'live relay did not start');
        refuse(socket, cap ? 'GG_ERR_CAMERA_CAP' : 'GG_ERR_CAMERA_UNAVAILABLE', (err as Error).message);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const { actor } = verdict;
        alive.add(ws);
        hub.join(relay, ws);
        log.info({ camera: relay.id, actor, viewers: relay.viewers.size }, 'live viewer joined');
        ws.on('pong', () => alive.add(ws));
        ws.on('error', (err) =>
          log.debug({ camera: relay.id, err: err.message }, 'live viewer socket error'),
        );
        ws.on('close', () => {
          hub.leave(relay, ws);
          log.info({ camera: relay.id, actor, viewers: relay.viewers.size }, 'live viewer left');
        });
      });
    };
    app.server.on('upgrade', onUpgrade);

    const heartbeat = setInterval(() => {
      for (const ws of wss.clients) {
        if (alive.delete(ws)) ws.ping();
        else ws.terminate();
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
      if (!verdict.ok) return send(reply, verdict.code, verdict.message);
      const view = `/cameras/${encodeURIComponent(verdict.camera.id)}/view`;
      const message = `open this url as a WebSocket (RFC 6455) with subprotocol bearer.<token>, or view it at ${view}`;
      return send(reply.header('upgrade', 'websocket'), 'GG_ERR_BAD_REQUEST', message, 426);
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
      page(reply, 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .send(jsmpegScript()),
    );
  };
}

function fail(code: ErrorCode, message: string): Verdict {
  return { ok: false, code, message };
}

/** The token from `Authorization: Bearer`, else from the subprotocol `bearer.<token>`; never from the query. */
function tokenOf(req: IncomingMessage): string | undefined {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const sub = offered.find((p) => p.startsWith(SUBPROTOCOL_BEARER) && p !== SUBPROTOCOL_BEARER);
  return bearer(req) ?? sub?.slice(SUBPROTOCOL_BEARER.length);
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** An HTTP answer (the catalogue's status) on the raw socket, then the socket is destroyed. */
function refuse(socket: Duplex, code: ErrorCode, message: string): void {
  if (!socket.writable) return void socket.destroy();
  const { statusCode: status } = ERRORS[code];
  const body = JSON.stringify({ code, message, details: [] });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    // RFC 6750 §3
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="gridgate"'] : []),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

function send(reply: FastifyReply, code: ErrorCode, message: string, status = ERRORS[code].statusCode) {
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
