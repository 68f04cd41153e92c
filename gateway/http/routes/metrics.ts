import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

/** GET /metrics in the Prometheus text format. */
export function metricsRoutes(registry: Registry): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  };
}
