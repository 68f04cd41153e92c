import type { FastifyPluginAsync } from 'fastify';
import type { TsdbWriter } from '../../../adapters/tsdb/influx-writer.js';
import type { LatestReadings } from '../../../processors/latest.js';
import type { DeviceRateLimiter } from '../../../processors/limits/device-rate-limiter.js';
import type { Pipeline } from '../../../processors/pipeline.js';

/** What GET /stats and GET /limits/flagged read. */
export interface StatsSources {
  pipeline: Pick<Pipeline, 'stats'>;
  writer: Pick<TsdbWriter, 'stats'>;
  registry: { readonly size: number };
  latest: Pick<LatestReadings, 'all' | 'size' | 'eventCounts'>;
  rateLimiter: Pick<DeviceRateLimiter, 'flagged' | 'stats'>;
}

/** Per family: devices, online, and for each metric the mean and max of the devices' newest values. */
interface FamilySummary {
  devices: number;
  online: number;
  metrics: Record<string, { avg: number; max: number; n: number }>;
}

/**
 * GET /stats: what flows, for a person watching (the demo's live summary) — counters, devices
 * seen, and the newest values per family. GET /limits/flagged: the throttled devices.
 */
export function statsRoutes(gw: StatsSources): FastifyPluginAsync {
  return async (app) => {
    app.get('/stats', async () => {
      const byFamily: Record<string, FamilySummary> = {};
      for (const e of gw.latest.all()) {
        byFamily[e.family] ??= { devices: 0, online: 0, metrics: {} };
        const f = byFamily[e.family]!;
        f.devices++;
        if (e.online) f.online++;
        for (const [name, v] of Object.entries(e.values)) {
          const m = f.metrics[name];
          if (!m) f.metrics[name] = { avg: v.value, max: v.value, n: 1 };
          else {
            m.avg += (v.value - m.avg) / ++m.n;
            if (v.value > m.max) m.max = v.value;
          }
        }
      }
      return {
        pipeline: gw.pipeline.stats(),
        tsdb: gw.writer.stats,
        devices: { registered: gw.registry.size, seen: gw.latest.size },
        families: byFamily,
        accessEvents: gw.latest.eventCounts,
      };
    });
    app.get('/limits/flagged', async () => ({
      items: gw.rateLimiter.flagged(),
      stats: gw.rateLimiter.stats(),
    }));
  };
}
