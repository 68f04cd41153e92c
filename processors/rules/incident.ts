import { createHash } from 'node:crypto';
import type { AlertEventType, Severity } from '../alerts/event.js';
import type { LocationPath } from '../types.js';

export type Phase = 'pending' | 'firing' | 'resolving' | 'resolved';

/**
 * One incident: rule + device (+ `by` tags), or rule + location for correlation rules. Plain data,
 * so a store can persist it as JSON and a restart resumes it exactly.
 */
export interface Incident {
  /** Deterministic: sha1 of rule, key and the time the condition began, so a replay yields the same id. */
  id: string;
  /** Instance key: `rule|device[|tag values]` or `rule|@location prefix`. */
  key: string;
  ruleId: string;
  deviceId?: string;
  /** The `by` tag values that split this incident from the device's others (e.g. `{ door: 'D1' }`). */
  by?: Record<string, string>;
  location: LocationPath;
  phase: Phase;
  severity: Severity;
  /** When the condition first held (start of `for`); also the incident's startedAt. */
  pendingSince: number;
  /** When it began firing; undefined for a pending incident that never fired. */
  firedAt?: number;
  lastTrueAt: number;
  resolvingSince?: number;
  resolvedAt?: number;
  lastNotifiedAt?: number;
  /** Events emitted so far: the sequence number that makes each event id deterministic. */
  seq: number;
  /**
   * Whether dispatch got its alert.firing (an incident silenced throughout has none; its resolve is
   * not sent either). For shadow incidents: whether the shadow list got it.
   */
  notified: boolean;
  /** The severity dispatch was last told (an escalation a silence held back is sent when it ends). */
  notifiedSeverity?: Severity;
  /** Whether the installer view got an alert.firing (the device was commissioning). */
  installerNotified?: boolean;
  /** Times the condition (re)activated, within the flap window. */
  flapTimes: number[];
  flapping: boolean;
  value?: number;
  threshold?: number;
  ackWithinMs?: number;
  ackedBy?: string;
  ackedAt?: number;
  shadow: boolean;
}

/** A lifecycle step's output: what the engine turns into an AlertEvent (unless silenced). */
export interface Transition {
  type: AlertEventType;
  severity: Severity;
  previousSeverity?: Severity;
  reason?: string;
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

export function incidentId(ruleId: string, key: string, pendingSince: number): string {
  return sha1(`${ruleId}\u0000${key}\u0000${pendingSince}`).slice(0, 24);
}

/** The same incident transition always gets the same id: BullMQ's jobId dedups a replay. */
export function eventId(incident: string, seq: number, type: AlertEventType): string {
  return sha1(`${incident}\u0000${seq}\u0000${type}`).slice(0, 32);
}

export function isOpen(i: Incident): boolean {
  return i.phase === 'firing' || i.phase === 'resolving';
}
