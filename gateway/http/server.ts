import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { type ErrorCode, GridgateError } from '../../processors/errors.js';

/** HTTP status per error code; every other GridgateError is the caller's mistake (400). */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  GG_ERR_NOT_FOUND: 404,
  GG_ERR_CONFLICT: 409,
  GG_ERR_UNAUTHORIZED: 401,
  GG_ERR_FORBIDDEN: 403,
};

export interface ApiPlugin {
  plugin: FastifyPluginAsync<never>;
  /** Mounted under /api/v1 + prefix. */
  prefix: string;
  options?: unknown;
}

export interface HttpServerOptions {
  logger: Logger;
  /** Routes outside /api/v1 (healthz, metrics). */
  root: FastifyPluginAsync[];
  api: ApiPlugin[];
  https?: { cert: Buffer; key: Buffer };
}

/** The HTTP API: GET /healthz, GET /metrics, and /api/v1/... . Errors come back as {code, message, details}. */
export async function buildHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Request logs are info-level; the API logs warnings and errors only.
    loggerInstance: opts.logger.child(
      {},
      { level: opts.logger.isLevelEnabled('info') ? 'warn' : opts.logger.level },
    ),
    bodyLimit: 64 * 1024 * 1024,
    ...(opts.https ? { https: opts.https } : {}),
  }) as unknown as FastifyInstance;
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof GridgateError) {
      const status = HTTP_STATUS[err.code] ?? 400;
      return reply.status(status).send({ code: err.code, message: err.message, details: err.details });
    }
    const e = err as { statusCode?: number; message?: string; code?: string };
    const status = e.statusCode && e.statusCode >= 400 ? e.statusCode : 500;
    if (status >= 500) opts.logger.error({ err }, 'HTTP handler failed');
    return reply
      .status(status)
      .send({ code: e.code ?? 'GG_ERR_INTERNAL', message: e.message ?? 'internal error' });
  });
  for (const plugin of opts.root) await app.register(plugin);
  await app.register(
    async (api) => {
      for (const p of opts.api)
        await api.register(p.plugin as FastifyPluginAsync<object>, {
          prefix: p.prefix,
          ...(p.options as object),
        });
    },
    { prefix: '/api/v1' },
  );
  return app;
}
