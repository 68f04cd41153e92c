import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { GridgateError } from '../../../processors/errors.js';
import { formatRuleError } from '../../../processors/rules/parse.js';
import type { Alerting } from '../../alerting.js';

const ackBody = z.strictObject({
  by: z.string().min(1).max(128).optional(),
  note: z.string().max(1000).optional(),
});
const silenceBody = z
  .strictObject({
    ruleId: z.string().min(1).optional(),
    deviceId: z.string().min(1).optional(),
    location: z
      .strictObject({
        district: z.string().optional(),
        street: z.string().optional(),
        community: z.string().optional(),
        grid: z.string().optional(),
      })
      .optional(),
    startsAt: z.iso.datetime({ offset: true }).optional(),
    endsAt: z.iso.datetime({ offset: true }),
    reason: z.string().min(1, 'a silence needs a reason'),
  })
  .refine((s) => s.ruleId || s.deviceId || s.location, 'match at least one of ruleId, deviceId, location');

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    throw new GridgateError(
      'GG_ERR_BAD_REQUEST',
      'invalid request body',
      r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
    );
  }
  return r.data;
}

const actorOf = (req: FastifyRequest) => (req as FastifyRequest & { actor?: string }).actor ?? 'api';

/**
 * Incidents (list, show, ack), rules (status, reload), silences (CRUD), shadow-mode events, and the
 * installer view of commissioning devices' alerts.
 */
export function alertingRoutes(alerting: Alerting): FastifyPluginAsync {
  return async (app) => {
    const { engine } = alerting;
    app.get<{ Querystring: { state?: string; rule?: string; limit?: string } }>('/incidents', async (req) => {
      const state = req.query.state ?? 'open';
      if (!['open', 'all'].includes(state))
        throw new GridgateError('GG_ERR_BAD_REQUEST', "state is 'open' or 'all'");
      const items = engine
        .listIncidents({
          ...(state === 'open' ? { open: true } : {}),
          ...(req.query.rule ? { ruleId: req.query.rule } : {}),
        })
        .map((i) => ({ ...i, event: alerting.currentEvent(i.id) }));
      return {
        items: items.slice(0, Number(req.query.limit ?? 500)).map((i) => ({ ...i.event, ...stateOf(i) })),
      };
    });
    app.get<{ Params: { id: string } }>('/incidents/:id', async (req) => {
      const inc = engine.getIncident(req.params.id);
      if (!inc) throw new GridgateError('GG_ERR_NOT_FOUND', `incident ${req.params.id} is not known`);
      return { ...alerting.currentEvent(inc.id), ...stateOf(inc), incident: inc };
    });
    app.post<{ Params: { id: string } }>('/incidents/:id/ack', async (req) => {
      const body = parse(ackBody, req.body);
      return alerting.ack(req.params.id, body.by ?? actorOf(req), body.note);
    });
    app.get('/rules', async () => ({
      rules: engine.rulesStatus(),
      lastReloadAt: alerting.watcher.lastReloadAt,
      lastReloadError: alerting.watcher.lastReloadError?.map(formatRuleError),
    }));
    app.post('/rules/reload', async (_req, reply) => {
      const r = await alerting.watcher.reload();
      if (!r.ok) {
        return reply.status(400).send({
          code: 'GG_ERR_RULES_INVALID',
          message: 'rules not reloaded; the previous set keeps running',
          details: r.errors.map(formatRuleError),
        });
      }
      return { ok: true, rules: r.rules };
    });
    app.get('/silences', async () => ({ items: alerting.silences.list(Date.now()) }));
    app.post('/silences', async (req, reply) => {
      const body = parse(silenceBody, req.body);
      const startsAt = body.startsAt ? Date.parse(body.startsAt) : Date.now();
      const endsAt = Date.parse(body.endsAt);
      if (endsAt <= startsAt) throw new GridgateError('GG_ERR_BAD_REQUEST', 'endsAt must be after startsAt');
      const s = await alerting.silences.add({ ...body, startsAt, endsAt, createdBy: actorOf(req) });
      return reply.status(201).send(s);
    });
    app.delete<{ Params: { id: string } }>('/silences/:id', async (req) => {
      if (!(await alerting.silences.remove(req.params.id))) {
        throw new GridgateError('GG_ERR_NOT_FOUND', `silence ${req.params.id} is not known`);
      }
      return { ok: true };
    });
    app.get('/shadow', async () => ({ items: engine.shadowEvents }));
    app.get<{ Querystring: { device?: string } }>('/installer/alerts', async (req) => ({
      items: alerting.installerAlerts.list({ deviceId: req.query.device }),
    }));
  };
}

function stateOf(i: { id: string; phase: string; flapping: boolean; ackedBy?: string; ackedAt?: number }) {
  return {
    incidentId: i.id,
    state: i.phase,
    flapping: i.flapping,
    ...(i.ackedBy ? { ackedBy: i.ackedBy, ackedAt: new Date(i.ackedAt ?? 0).toISOString() } : {}),
  };
}
