/**
 * Which queues an alert event goes to. Pure: the dispatcher (BullMQ) and anything else that routes
 * by district, family or severity share it.
 *
 * Semantics: **every** matching route receives the event (a red flood alert in 浦东新区 can go both to
 * the district centre's queue and to the flood-control office's queue); the default queue receives
 * events that matched no route. A route with an empty match takes every event (the city centre sees
 * everything while each district centre consumes only its own).
 */
import type { Family } from '../types.js';
import { type AlertEvent, SEVERITIES, type Severity } from './event.js';

export interface AlertRouteMatch {
  /** District name(s) (`location.district`); any of them matches. */
  district?: string | readonly string[];
  /** Device family (or families); events without a device (correlation rules) never match a family. */
  family?: Family | readonly Family[];
  /** Minimum severity: `orange` matches orange and red. */
  severity?: Severity;
}

export interface AlertRoute {
  match: AlertRouteMatch;
  queue: string;
}

export interface AlertRouting {
  defaultQueue: string;
  routes: readonly AlertRoute[];
}

export const DEFAULT_ALERT_QUEUE = 'gridgate-alerts';

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

function oneOf<T>(want: T | readonly T[] | undefined, have: T | undefined): boolean {
  if (want === undefined) return true;
  if (have === undefined) return false;
  return Array.isArray(want) ? (want as readonly T[]).includes(have) : want === have;
}

export function routeMatches(match: AlertRouteMatch, event: AlertEvent): boolean {
  return (
    oneOf(match.district, event.location.district) &&
    oneOf(match.family, event.device?.family) &&
    (match.severity === undefined || severityRank(event.severity) >= severityRank(match.severity))
  );
}

/** The distinct queue names for `event`, routes first in declaration order, then the default queue. */
export function routeEvent(event: AlertEvent, routing: AlertRouting): string[] {
  const queues: string[] = [];
  for (const r of routing.routes) {
    if (routeMatches(r.match, event) && !queues.includes(r.queue)) queues.push(r.queue);
  }
  if (queues.length === 0) queues.push(routing.defaultQueue);
  return queues;
}

/** Every queue a routing configuration can send to (for workers, health checks and cleanup). */
export function allQueues(routing: AlertRouting): string[] {
  return [...new Set([...routing.routes.map((r) => r.queue), routing.defaultQueue])];
}
