import type { FastifyPluginAsync } from 'fastify';
import type { DeviceModel } from '../../../processors/devices/define.js';
import type { ModelIndex, ModelOrigin } from '../../../processors/devices/index.js';
import type { ModelFilesStatus } from '../../models.js';

/** One model as the API and `gridgate models list --json` show it. */
export function summarizeModel(m: DeviceModel, origin: ModelOrigin) {
  return {
    id: m.id,
    vendor: m.vendor,
    name: m.name,
    family: m.family,
    format: m.format,
    reportingIntervalS: m.reportingIntervalS,
    topics: m.topics,
    ...(m.time ? { time: { path: m.time.path, format: m.time.format } } : {}),
    fields: m.fields.map((f) => ({
      metric: f.metric,
      path: f.path.join('.'),
      unit: f.sourceUnit,
      scale: f.scale,
      offset: f.offset,
      range: f.range,
    })),
    ...(m.event ? { event: { path: m.event.path, codes: Object.keys(m.event.map).length } } : {}),
    origin,
  };
}

/** GET /models: every model the gateway decodes with, where each comes from, and the folder's reload state. */
export function modelRoutes(index: ModelIndex, status: () => ModelFilesStatus): FastifyPluginAsync {
  return async (app) => {
    app.get('/models', async () => ({
      ...status(),
      models: index.all().map((m) => summarizeModel(m, index.origin(m.id) ?? { kind: 'shipped', file: '' })),
    }));
  };
}
