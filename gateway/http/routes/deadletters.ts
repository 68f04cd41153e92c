import type { FastifyPluginAsync } from 'fastify';
import type { DeadLetterStore } from '../../../processors/deadletters.js';
import { GridgateError, REJECT_REASONS, type RejectReason } from '../../../processors/errors.js';

/** GET /deadletters?device=&reason=&limit= : the bounded dead-letter store, newest last, plus totals by reason. */
export function deadletterRoutes(store: DeadLetterStore): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { device?: string; reason?: string; limit?: string } }>(
      '/deadletters',
      async (req) => {
        const { device, reason, limit } = req.query;
        if (reason !== undefined && !Object.hasOwn(REJECT_REASONS, reason)) {
          throw new GridgateError('GG_ERR_BAD_REQUEST', `unknown reason '${reason}'`, [
            `known reasons: ${Object.keys(REJECT_REASONS).join(', ')}`,
          ]);
        }
        const n = limit === undefined ? 100 : Number(limit);
        if (!Number.isInteger(n) || n < 1 || n > 100_000) {
          throw new GridgateError('GG_ERR_BAD_REQUEST', `limit must be an integer 1..100000, got '${limit}'`);
        }
        return {
          counts: store.counts(),
          items: store.list({ deviceId: device, reason: reason as RejectReason | undefined, limit: n }),
        };
      },
    );
  };
}
