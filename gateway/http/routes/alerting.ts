import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { SEVERITIES, type Severity } from '../../../processors/alerts/event.js';
import { GridgateError } from '../../../processors/errors.js';
import type { Incident } from '../../../processors/rules/incident.js';
import { formatRuleError } from '../../../processors/rules/parse.js';
import type { Silence } from '../../../processors/rules/silences.js';
import type { Alerting } from '../../alerting.js';
import { actorOf } from '../auth.js';

const ackBody = z.strictObject({
  by: z.string().min(1).max(128).optional(),
  note: z.string().max(1000).optional(),
});
const ISO_TIME = 'an ISO 8601 time with an offset, e.g. 2026-07-01T08:00:00+08:00 or 2026-07-01T00:00:00Z';
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
    startsAt: z.iso.datetime({ offset: true, error: ISO_TIME }).optional(),
    endsAt: z.iso.datetime({ offset: true, error: ISO_TIME }),
    reason: z.string().min(1, 'a silence needs a reason'),
  })
  .refine((s) => s.ruleId || s.deviceId || s.location, 'match at least one of ruleId, deviceId, location');

/** Names people try for silence fields, and the field that means it (the reply uses the same names). */
const SILENCE_RENAMES: Record<string, string> = {
  device: 'deviceId',
  rule: 'ruleId',
  district: 'location.district',
  street: 'location.street',
  community: 'location.community',
  grid: 'location.grid',
  comment: 'reason',
};

/** A silence as the API shows it: the request's names, times in ISO 8601 like the request. */
function silenceView(s: Silence, now: number) {
  return {
    id: s.id,
    ruleId: s.ruleId,
    deviceId: s.deviceId,
    location: s.location,
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: new Date(s.endsAt).toISOString(),
    state: now < s.startsAt ? 'pending' : 'active',
    reason: s.reason,
    createdBy: s.createdBy,
    createdAt: s.createdAt === undefined ? undefined : new Date(s.createdAt).toISOString(),
  };
}

function parseSilence(body: unknown) {
  if (body && typeof body === 'object') {
    const renamed = Object.keys(body)
      .filter((k) => k in SILENCE_RENAMES)
      .map((k) => `${k}: not a silence field; use ${SILENCE_RENAMES[k]}`);
    if (renamed.length) throw new GridgateError('GG_ERR_BAD_REQUEST', 'invalid request body', renamed);
  }
  return parse(silenceBody, body);
}

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

/**
 * Incidents (list, show, ack), rules (status, reload), silences (CRUD), shadow-mode events, and the
 * installer view of commissioning devices' alerts.
 */
export function alertingRoutes(alerting: Alerting): FastifyPluginAsync {
  return async (app) => {
    const { engine } = alerting;
    app.get<{
      Querystring: { state?: string; rule?: string; device?: string; severity?: string; limit?: string };
    }>('/incidents', async (req) => {
      const q = req.query;
      const state = q.state ?? 'open';
      if (!['open', 'all'].includes(state))
        throw new GridgateError('GG_ERR_BAD_REQUEST', "state is 'open' or 'all'");
      const severities = q.severity ? q.severity.split(',').map((x) => x.trim()) : undefined;
      const unknown = severities?.filter((x) => !(SEVERITIES as readonly string[]).includes(x));
      if (unknown?.length)
        throw new GridgateError('GG_ERR_BAD_REQUEST', `severity is one or more of ${SEVERITIES.join(', ')}`, [
          `not a severity: ${unknown.join(', ')}`,
        ]);
      const items = engine.listIncidents({
        open: state === 'open',
        ruleId: q.rule,
        deviceId: q.device,
        severities: severities as Severity[] | undefined,
      });
      return {
        items: items.slice(0, Number(q.limit ?? 500)).map((i) => ({
          ...baseOf(i),
          ...alerting.currentEvent(i.id),
          ...stateOf(i),
        })),
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
    app.post('/rules/reload', async () => {
      const r = await alerting.watcher.reload();
      if (r.ok) return { ok: true, rules: r.value.rules.length };
      const message = 'rules not reloaded; the previous set keeps running';
      throw new GridgateError('GG_ERR_RULES_INVALID', message, r.errors.map(formatRuleError));
    });
    app.get('/silences', async () => {
      const now = Date.now();
      return { items: alerting.silences.list(now).map((s) => silenceView(s, now)) };
    });
    app.post('/silences', async (req, reply) => {
      const body = parseSilence(req.body);
      const now = Date.now();
      const startsAt = body.startsAt ? Date.parse(body.startsAt) : now;
      const endsAt = Date.parse(body.endsAt);
      if (endsAt <= startsAt) throw new GridgateError('GG_ERR_BAD_REQUEST', 'endsAt must be after startsAt');
      const s = await alerting.silences.add({
        ...body,
        startsAt,
        endsAt,
        createdBy: actorOf(req),
        createdAt: now,
      });
      return reply.status(201).send(silenceView(s, now));
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

/** What a list item says even when its rule is gone (no current event to show). */
function baseOf(i: Incident) {
  return {
    rule: { id: i.ruleId, name: i.ruleId },
    severity: i.severity,
    deviceId: i.deviceId,
    startedAt: new Date(i.pendingSince).toISOString(),
  };
}

function stateOf(i: Incident) {
  return {
    incidentId: i.id,
    state: i.phase,
    flapping: i.flapping,
    // False while a silence (or commissioning) has kept the dispatch queue from hearing of it.
    notified: i.notified,
    ...(i.ackedBy ? { ackedBy: i.ackedBy, ackedAt: new Date(i.ackedAt ?? 0).toISOString() } : {}),
  };
}
