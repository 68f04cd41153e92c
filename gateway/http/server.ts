import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { parseJsonBody, routeNotFound, sendError } from './api-errors.js';
import { API_PREFIX } from './auth.js';

/**
 * Most routes take a small JSON body (a device, a patch, an ack, a silence): this is their limit.
 * Routes that need more say so with their own `bodyLimit` (the device import, which streams CSV).
 */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface ApiPlugin {
  plugin: FastifyPluginAsync<never>;
  /** Mounted under /api/v1 + prefix; default none. */
  prefix?: string;
  options?: unknown;
}

export interface HttpServerOptions {
  logger: Logger;
  /** Routes outside /api/v1 (healthz, metrics). */
  root: FastifyPluginAsync[];
  api: ApiPlugin[];
  https?: { cert: Buffer; key: Buffer };
  /** Bytes a route accepts unless it sets its own `bodyLimit`. Default DEFAULT_BODY_LIMIT. */
  bodyLimit?: number;
}

/**
 * The HTTP API: GET /healthz, GET /metrics, and /api/v1/... . Every error, fastify's own (unknown
 * route, unparseable or oversized body, unsupported content type) included, comes back as
 * {code, message, details} with a catalogue code and the catalogue's status.
 */
export async function buildHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Request logs are info-level; the API logs warnings and errors only.
    loggerInstance: opts.logger.child(
      {},
      { level: opts.logger.isLevelEnabled('info') ? 'warn' : opts.logger.level },
    ),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ...(opts.https ? { https: opts.https } : {}),
  }) as unknown as FastifyInstance;
  app.setErrorHandler((err, req, reply) => sendError(err, req, reply, opts.logger));
  app.setNotFoundHandler((req, reply) => sendError(routeNotFound(req), req, reply, opts.logger));
  // JSON is the API's one body type (the device import adds CSV and YAML for itself); a text/plain
  // body would otherwise reach handlers as a string and fail later with a less useful message.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, async (_req: unknown, body: string) =>
    parseJsonBody(body),
  );
  for (const plugin of opts.root) await app.register(plugin);
  for (const p of opts.api) {
    const prefix = `${API_PREFIX}${p.prefix ?? ''}`;
    await app.register(p.plugin as FastifyPluginAsync<object>, { ...(p.options as object), prefix });
  }
  return app;
}
