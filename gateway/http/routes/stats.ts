import type { FastifyPluginAsync } from 'fastify';
import type { Family } from '../../../processors/types.js';
import type { Gateway } from '../../app.js';

/**
 * GET /stats: what flows, for a person watching (the demo's live summary) — counters, devices
 * seen, and the newest values per family. GET /devices/:id/latest: one device's newest values.
 */
export function statsRoutes(gw: Gateway): FastifyPluginAsync {
  return async (app) => {
    app.get('/stats', async () => {
      const byFamily: Record<string, { devices: number; online: number; latest: Record<string, number> }> =
        {};
      for (const e of gw.latest.all()) {
        let f = byFamily[e.family as Family];
        if (!f) {
          f = { devices: 0, online: 0, latest: {} };
          byFamily[e.family as Family] = f;
        }
        f.devices++;
        if (e.online) f.online++;
        for (const [name, v] of Object.entries(e.values)) f.latest[name] = v.value;
        if (e.lastEvent)
          f.latest[`event:${e.lastEvent.event}`] = (f.latest[`event:${e.lastEvent.event}`] ?? 0) + 1;
      }
      return {
        pipeline: gw.pipeline.stats(),
        tsdb: gw.writer.stats,
        devices: { registered: gw.registry.size, seen: gw.latest.size },
        families: byFamily,
      };
    });
    app.get<{ Params: { id: string } }>('/devices/:id/latest', async (req, reply) => {
      const e = gw.latest.get(req.params.id);
      if (!e)
        return reply
          .status(404)
          .send({ code: 'GG_ERR_NOT_FOUND', message: `no reading from '${req.params.id}' since start` });
      return e;
    });
  };
}
