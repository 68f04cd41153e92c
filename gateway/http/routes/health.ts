import type { FastifyPluginAsync } from 'fastify';

export type HealthCheck = () => { ok: boolean; detail?: string };

/** What alertDeliveryCheck reads (AlertDispatcher.stats()). */
export interface AlertDeliveryStats {
  buffered: number;
  outboxDepth: number;
  outboxBytes: number;
  oldestWaitingAt: number | undefined;
  dropped: number;
  enqueued: number;
  failures: number;
}

/**
 * Alert delivery: failing once events have waited for Redis longer than `staleMs` (a short wait is
 * a reconnect, not an outage); the detail names the outbox depth and the oldest event's age.
 */
export function alertDeliveryCheck(
  stats: () => AlertDeliveryStats | undefined,
  staleMs = 30_000,
  now: () => number = Date.now,
): HealthCheck {
  return () => {
    const s = stats();
    if (!s || (s.buffered === 0 && s.dropped === 0)) return { ok: true };
    const dropped = s.dropped > 0 ? `; ${s.dropped} dropped since start (outbox full)` : '';
    if (s.buffered === 0) return { ok: true, detail: `no alert events waiting${dropped}` };
    const ageS = Math.max(0, Math.round((now() - (s.oldestWaitingAt ?? now())) / 1000));
    return {
      ok: ageS * 1000 < staleMs,
      detail: `${s.buffered} alert events waiting for Redis (${s.outboxDepth} in the outbox, ${s.outboxBytes} bytes), oldest ${ageS} s${dropped}`,
    };
  };
}

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
