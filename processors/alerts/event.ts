/**
 * The alert event contract for downstream systems: `gridgate.alert/v1`. It mirrors
 * config/schemas/alert-v1.schema.json (the published JSON Schema, validated against in tests and
 * by the consumer helper). Change both together, and bump the version on a breaking change.
 */
import type { Family, LocationPath } from '../types.js';

export const ALERT_SCHEMA_ID = 'gridgate.alert/v1' as const;

/** China's four-colour warning levels (蓝/黄/橙/红), lowest first. */
export const SEVERITIES = ['blue', 'yellow', 'orange', 'red'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_EVENT_TYPES = [
  'alert.firing',
  'alert.escalated',
  'alert.resolved',
  'alert.reminder',
] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

export type AlertEvidenceKind = 'snapshot' | 'clip' | 'link';

/**
 * One evidence entry: where to fetch it (`url`), or, when it could not be taken, why (`error`), so
 * a consumer can tell "no camera covers this" (no entry) from "the camera failed" (an entry with
 * `error`). Exactly one of the two is present.
 */
export type AlertEvidence =
  | { kind: AlertEvidenceKind; url: string; error?: never; camera?: string; at?: string }
  | { kind: AlertEvidenceKind; error: string; url?: never; camera?: string; at?: string };

export interface AlertEvent {
  schema: typeof ALERT_SCHEMA_ID;
  /** Deterministic: the same incident transition always yields the same id (BullMQ jobId). */
  id: string;
  incidentId: string;
  type: AlertEventType;
  rule: { id: string; name: string };
  severity: Severity;
  /** For alert.escalated: the severity before, and why (`severity_rose` | `ack_overdue`). */
  previousSeverity?: Severity;
  reason?: string;
  /** The device, or for correlation rules the location the incident is keyed by (device absent). */
  device?: {
    id: string;
    family: Family;
    model: string;
    location: LocationPath;
    lat?: number;
    lon?: number;
  };
  location: LocationPath;
  metric?: string;
  value?: number;
  threshold?: number;
  unit?: string;
  /** ISO 8601 times. */
  startedAt: string;
  at: string;
  resolvedAt?: string;
  summary: { zh: string; en: string };
  evidence: AlertEvidence[];
  /** True for shadow-mode rules: recorded, never dispatched. */
  shadow?: boolean;
}

/** Where the rule engine hands alert events. Implemented by the BullMQ dispatcher (and an MQTT publisher). */
export interface AlertSink {
  emit(event: AlertEvent): Promise<void>;
}
