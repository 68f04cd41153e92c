import { ALERT_SCHEMA_ID, type AlertEvent } from '../alerts/event.js';
import type { Device } from '../types.js';
import type { CompiledRule } from './compile.js';
import { eventId, type Incident, type Transition } from './incident.js';
import { summarize } from './summary.js';

/** Turn an incident transition into a full `gridgate.alert/v1` event. */
export function buildEvent(
  rule: CompiledRule,
  inc: Incident,
  tr: Transition,
  device: Device | undefined,
  at: number,
): AlertEvent {
  const level = rule.levels.find((l) => l.severity === tr.severity) ?? rule.levels[0];
  const window = rule.windowFn
    ? rule.windows.find((w) => w.fn === rule.windowFn && w.source === rule.metric)
    : undefined;
  const event: AlertEvent = {
    schema: ALERT_SCHEMA_ID,
    id: eventId(inc.id, inc.seq, tr.type),
    incidentId: inc.id,
    type: tr.type,
    rule: { id: rule.id, name: rule.spec.name },
    severity: tr.severity,
    location: inc.location,
    startedAt: new Date(inc.pendingSince).toISOString(),
    at: new Date(at).toISOString(),
    summary: summarize({
      type: tr.type,
      severity: tr.severity,
      ruleName: rule.spec.name,
      device,
      location: inc.location,
      metric: rule.metric,
      windowFn: rule.windowFn,
      windowMs: window?.durationMs,
      unit: rule.unit,
      value: inc.value,
      threshold: inc.threshold,
      op: level?.op,
      kind: rule.kind,
      by: inc.by,
      reason: tr.reason,
    }),
    evidence: [],
  };
  if (tr.previousSeverity) event.previousSeverity = tr.previousSeverity;
  // The schema documents `reason` for alert.escalated only; other reasons go into the summary.
  if (tr.reason && tr.type === 'alert.escalated') event.reason = tr.reason;
  if (device) {
    event.device = { id: device.id, family: device.family, model: device.model, location: device.location };
    if (device.lat !== undefined) event.device.lat = device.lat;
    if (device.lon !== undefined) event.device.lon = device.lon;
  }
  if (rule.metric) event.metric = rule.metric;
  if (inc.value !== undefined) event.value = inc.value;
  if (inc.threshold !== undefined) event.threshold = inc.threshold;
  if (rule.unit !== undefined) event.unit = rule.unit;
  if (tr.type === 'alert.resolved' && inc.resolvedAt !== undefined)
    event.resolvedAt = new Date(inc.resolvedAt).toISOString();
  if (inc.shadow) event.shadow = true;
  return event;
}
