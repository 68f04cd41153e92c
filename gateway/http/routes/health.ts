import type { FastifyPluginAsync } from 'fastify';

export type HealthCheck = () => { ok: boolean; detail?: string };

/** GET /healthz: 200 while every check passes, 503 with the failing ones otherwise. */
export function healthRoutes(checks: Record<string, HealthCheck>): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async (_req, reply) => {
      const results: Record<string, { ok: boolean; detail?: string }> = {};
      let ok = true;
      for (const [name, check] of Object.entries(checks)) {
        let r: { ok: boolean; detail?: string };
        try {
          r = check();
        } catch (err) {
          r = { ok: false, detail: (err as Error).message };
        }
        results[name] = r;
        ok &&= r.ok;
      }
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', checks: results });
    });
  };
}
