import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from '../alerts/event.js';
import type { Clock, DeviceDirectory } from '../types.js';
import type { CompiledRule } from './compile.js';
import type { RuleSet } from './parse.js';
import type { SilenceStore } from './silences.js';
import type { IncidentStore } from './store.js';

export interface RuleEngineOptions {
  rules: RuleSet | readonly CompiledRule[];
  /**
   * Dispatch (BullMQ, MQTT). Gets each event once it is saved with the incident state it follows
   * from, and again at start() what a crash left saved (write-behind.ts): await `drain()` to know
   * it has every event raised so far.
   */
  sink: AlertSink;
  /** Sees every event for `sink` the moment it is raised, before any save: for in-process views. */
  onRaised?: (event: AlertEvent) => void;
  /**
   * Alerts of devices in `commissioning` go here instead of `sink` (the installer view, in process:
   * each event at once, never saved), and are dropped when absent: a device being installed must not
   * page the command centre.
   */
  installerSink?: AlertSink;
  store: IncidentStore;
  silences?: SilenceStore;
  /**
   * The registry: names devices in events raised by the clock (no data, resolves) and tells which
   * audience an incident's next event goes to (a device confirmed out of `commissioning`).
   */
  directory?: DeviceDirectory;
  clock?: Clock;
  logger?: Logger;
  /** Shadow-mode events kept for inspection (newest last). Default 1000. */
  shadowLimit?: number;
  onShadow?: (event: AlertEvent) => void;
  /** Write-behind period for incident state. Default 500 ms; 0 disables the timer (call flush()). */
  flushIntervalMs?: number;
  /**
   * How often the windows of devices with open incidents are snapshotted to the store (always on
   * stop()). Default 30 s: a crash loses at most that much window history, never an incident.
   */
  windowSnapshotMs?: number;
  /** Resolved incidents stay listed (and known by id) this long. Default 24 h. */
  recentMs?: number;
}

export interface RuleStatus {
  id: string;
  name: string;
  kind: CompiledRule['kind'];
  mode: 'live' | 'shadow';
  evaluations: number;
  lastEvaluatedAt?: number;
  open: number;
}

export interface EngineStats {
  readings: number;
  skippedQuality: number;
  skippedMaintenance: number;
  evaluations: number;
  unevaluable: number;
  emitted: number;
  silenced: number;
  emitFailures: number;
  /** Flushes of incident state that failed (Redis down); their changes were kept and retried. */
  saveFailures: number;
  /** Re-activations: an open incident whose condition returned, or a new one on a key resolved < 1 h before. */
  flaps: Map<string, number>;
}

export function newStats(): EngineStats {
  return {
    readings: 0,
    skippedQuality: 0,
    skippedMaintenance: 0,
    evaluations: 0,
    unevaluable: 0,
    emitted: 0,
    silenced: 0,
    emitFailures: 0,
    saveFailures: 0,
    flaps: new Map(),
  };
}
