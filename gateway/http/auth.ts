import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { GridgateError } from '../../processors/errors.js';

/**
 * Bearer-token authentication and role-based access for /api/v1 (issue 4, Security).
 *
 * Tokens are configured as SHA-256 hashes (`gridgate tokens new` prints both); a presented token
 * is hashed and compared with every configured hash in constant time. Each token has a role; the
 * permission table below says which roles may call each route, keyed by method and fastify route
 * url. A route missing from the table is open to admin only (fail closed), and `unmapped()` lists
 * such routes so a test can insist there are none. /healthz and /metrics (outside /api) are open.
 */

export const ROLES = ['reader', 'installer', 'engineer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiToken {
  name: string;
  role: Role;
  /** Hex SHA-256 of the token. */
  sha256: string;
}

export const API_PREFIX = '/api/v1';

/** `METHOD url` relative to /api/v1, e.g. `GET /devices/:id`. */
export type RouteKey = `${'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} /${string}`;

// Reader rights are included in installer's and engineer's; admin may call everything.
const READ: readonly Role[] = ['reader', 'installer', 'engineer'];
const INSTALL: readonly Role[] = ['installer'];
const ENGINEER: readonly Role[] = ['engineer'];

/** Who may call what. Admin is implied everywhere and not listed. */
export const PERMISSIONS: Readonly<Record<RouteKey, readonly Role[]>> = {
  // ingest state (routes/deadletters.ts, routes/stats.ts)
  'GET /deadletters': READ,
  'GET /stats': READ,
  'GET /limits/flagged': READ,
  'GET /devices/:id/latest': READ,
  // device registry, read side (routes/devices.ts)
  'GET /devices': READ,
  'GET /devices/export': READ,
  'GET /devices/:id': READ,
  'GET /devices/:id/audit': READ,
  // device models and where each comes from (routes/models.ts)
  'GET /models': READ,
  // device registry, installer's side: writes, credentials, the on-site view, unknown devices
  'POST /devices': INSTALL,
  'POST /devices/import': INSTALL,
  'PATCH /devices/:id': INSTALL,
  'POST /devices/:id/retire': INSTALL,
  'POST /devices/:id/credentials/rotate': INSTALL,
  'GET /devices/:id/status': INSTALL,
  'GET /devices/:id/watch': INSTALL,
  'GET /devices/unknown': INSTALL,
  // rules engine: reading is for everyone, changing is the engineer's
  'GET /incidents': READ,
  'GET /incidents/:id': READ,
  'POST /incidents/:id/ack': ENGINEER,
  'GET /rules': READ,
  // alert snapshot evidence (routes/snapshots.ts): whoever may read incidents may see their pictures
  'GET /snapshots/:file': READ,
  'POST /rules/reload': ENGINEER,
  'GET /silences': READ,
  'POST /silences': ENGINEER,
  'DELETE /silences/:id': ENGINEER,
  'GET /shadow': READ,
  // commissioning devices' alerts go to the installer, not the dispatch queue (issue 4, Registry)
  'GET /installer/alerts': INSTALL,
  // cameras (routes/cameras.ts): the live view is narrowed there to config cameras.live.roles
  'GET /cameras/:id/live': READ,
  'POST /cameras/:id/reference': INSTALL,
};

export interface AuthOptions {
  /** config auth.required; false lets every request through as 'anonymous' (local demo only). */
  required: boolean;
  tokens: readonly ApiToken[];
  /** Called with the handle once the hooks are installed. */
  onReady?: (h: AuthHandle) => void;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Name of the token that made the request ('anonymous' when auth is off), for the audit log. */
    actor: string;
    role: Role | undefined;
  }
}

export interface AuthHandle {
  /** /api/v1 routes registered so far, as table keys (HEAD folded into GET). */
  routes(): string[];
  /** Registered /api/v1 routes with no entry in the table (callable by admin only). */
  unmapped(): string[];
}

type Known = ApiToken & { hash: Buffer };

/** SHA-256 of a token, hex: the form `auth.tokens[].sha256` holds. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Installs the auth hooks as a fastify plugin that is not encapsulated (fastify's `skip-override`),
 * so they guard the whole server. Register it before any route: the onRoute hook only sees routes
 * added after it.
 */
export function authPlugin(opts: AuthOptions): FastifyPluginAsync {
  const table: Readonly<Record<string, readonly Role[]>> = PERMISSIONS;
  const known = knownTokens(opts.tokens);
  const plugin: FastifyPluginAsync = async (app) => {
    const seen = new Set<string>();
    app.decorateRequest('actor', '');
    app.decorateRequest('role', undefined);
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith(`${API_PREFIX}/`)) return;
      for (const m of [route.method].flat()) seen.add(keyOf(m, route.url));
    });
    app.addHook('onRequest', async (req, reply) => {
      if (!opts.required) {
        req.actor = 'anonymous';
        return;
      }
      // Decide on the route the router matched (it decodes the path: `/%61pi/v1/...` is
      // `/api/v1/...`), and for unmatched urls on the decoded path, so no spelling slips past.
      const route = req.routeOptions.url;
      if (route !== undefined ? !route.startsWith(`${API_PREFIX}/`) : !isApiPath(req.url)) return;
      const token = bearer(req);
      const who = token === undefined ? undefined : lookup(known, token);
      if (!who) {
        // RFC 6750 §3: a 401 names the scheme; invalid_token when a token was sent but is not accepted.
        const invalid = token === undefined ? '' : ', error="invalid_token"';
        reply.header('www-authenticate', `Bearer realm="gridgate"${invalid}`);
        throw new GridgateError(
          'GG_ERR_UNAUTHORIZED',
          token === undefined
            ? 'this API needs a bearer token: send Authorization: Bearer <token> (see gridgate tokens new)'
            : 'the bearer token is not known to this gateway; check it against auth.tokens',
        );
      }
      req.actor = who.name;
      req.role = who.role;
      if (who.role === 'admin') return;
      // An unknown url (404) has no route; authenticated callers learn only that it does not exist.
      if (route === undefined) return;
      const key = keyOf(req.method, route);
      const allowed = table[key] ?? [];
      if (!allowed.includes(who.role)) {
        const others = allowed.length ? `allowed: ${allowed.join(', ')}, admin` : 'admin only';
        throw new GridgateError('GG_ERR_FORBIDDEN', `role '${who.role}' may not call ${key}; ${others}`);
      }
    });
    opts.onReady?.({
      routes: () => [...seen].sort(),
      unmapped: () => [...seen].filter((k) => table[k] === undefined).sort(),
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}

function isApiPath(rawUrl: string): boolean {
  let path = rawUrl.split('?', 1)[0] ?? '';
  try {
    path = decodeURIComponent(path);
  } catch {
    return true; // undecodable: treat as protected
  }
  return path === '/api' || path.startsWith('/api/');
}

function keyOf(method: string, url: string): string {
  const m = method === 'HEAD' ? 'GET' : method;
  return `${m} ${url.startsWith(API_PREFIX) ? url.slice(API_PREFIX.length) : url}`;
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 7235 §2.1). */
export function bearer(req: Pick<FastifyRequest, 'headers'>): string | undefined {
  return /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** Who made a request, for the audit log: the token's name, or 'api' where no auth hook ran. */
export function actorOf(req: FastifyRequest): string {
  return req.actor || 'api';
}

/** The holder of a presented token, for checks outside the onRequest hook (WebSocket upgrades). */
export function verifyToken(
  tokens: readonly ApiToken[],
  token: string,
): { name: string; role: Role } | undefined {
  const hit = lookup(knownTokens(tokens), token);
  return hit && { name: hit.name, role: hit.role };
}

function knownTokens(tokens: readonly ApiToken[]): Known[] {
  return tokens.map((t) => ({ ...t, hash: Buffer.from(t.sha256, 'hex') }));
}

/** Compares against every configured hash, with no early exit, so timing says nothing about which matched. */
function lookup(known: readonly Known[], token: string): Known | undefined {
  const presented = createHash('sha256').update(token, 'utf8').digest();
  let hit: Known | undefined;
  for (const k of known) {
    if (k.hash.length === presented.length && timingSafeEqual(k.hash, presented) && !hit) hit = k;
  }
  return hit;
}
