import type { DeviceModel } from '../devices/define.js';
import type { Rejection } from '../errors.js';
import type { LatestEntry } from '../latest.js';
import type { DeviceRecord } from './device-schema.js';

/**
 * What an installer checks on site before a device leaves `commissioning` (issue 4, Registry):
 * first data received, values in physical range, clock drift, reporting interval as the model
 * expects. Pure: the gateway feeds it the latest readings, recent rejects and the clock.
 */

export type CheckName = 'connected' | 'first_data' | 'in_range' | 'clock_drift' | 'reporting_interval';
/** `pending`: not decidable yet (nothing received, or the model does not send its own time). */
export type CheckStatus = 'pass' | 'fail' | 'pending';

export interface Check {
  name: CheckName;
  status: CheckStatus;
  detail: string;
}

export interface CommissioningInput {
  device: DeviceRecord;
  model: DeviceModel | undefined;
  latest: LatestEntry | undefined;
  /** This device's recent rejections (dead letters), newest last. */
  rejects?: readonly Rejection[];
  now: number;
  /** Largest acceptable |device clock - gateway clock|. Default 60 s. */
  maxDriftMs?: number;
}

const RANGE_REASONS = new Set(['out_of_range', 'wrong_type']);

export function commissioningChecks(input: CommissioningInput): Check[] {
  const { latest, model, now } = input;
  const maxDrift = input.maxDriftMs ?? 60_000;
  const checks: Check[] = [];

  if (latest?.online === undefined)
    checks.push({ name: 'connected', status: 'pending', detail: 'no status seen yet' });
  else
    checks.push({
      name: 'connected',
      status: latest.online ? 'pass' : 'fail',
      detail: latest.online ? 'online' : 'offline (last status or broker disconnect)',
    });

  const hasData =
    latest !== undefined && (Object.keys(latest.values).length > 0 || latest.lastEvent !== undefined);
  checks.push(
    hasData
      ? { name: 'first_data', status: 'pass', detail: `last reading seen ${ago(now - latest.seenAt)}` }
      : { name: 'first_data', status: 'pending', detail: 'no reading received yet' },
  );

  const bad = (input.rejects ?? []).filter((r) => RANGE_REASONS.has(r.reason));
  const lastBad = bad[bad.length - 1];
  if (lastBad) {
    checks.push({
      name: 'in_range',
      status: 'fail',
      detail: `${bad.length} value(s) rejected, last: ${lastBad.field ?? ''} ${lastBad.reason}: ${lastBad.detail}`,
    });
  } else {
    checks.push({
      name: 'in_range',
      status: hasData ? 'pass' : 'pending',
      detail: hasData ? 'every value within its physical range' : 'no reading received yet',
    });
  }

  const measured = measuredAt(latest);
  // HJ 212 frames carry their own time, CP DataTime (HJ 212-2017 指令参数 CP, China Standard Time),
  // without a `time` mapping in the model: the wire format fixes where it is.
  if (!model?.time && model?.format !== 'hj212') {
    checks.push({
      name: 'clock_drift',
      status: 'pending',
      detail: 'model sends no timestamp; the gateway stamps receive time',
    });
  } else if (!latest || measured === undefined) {
    checks.push({ name: 'clock_drift', status: 'pending', detail: 'no reading received yet' });
  } else {
    const drift = measured - latest.seenAt;
    checks.push({
      name: 'clock_drift',
      status: Math.abs(drift) <= maxDrift ? 'pass' : 'fail',
      detail: `device clock ${drift >= 0 ? 'ahead' : 'behind'} by ${Math.round(Math.abs(drift) / 1000)} s (limit ${maxDrift / 1000} s)${model?.format === 'hj212' ? hj212Hint(drift, maxDrift) : ''}`,
    });
  }

  if (!model) {
    checks.push({
      name: 'reporting_interval',
      status: 'fail',
      detail: `model '${input.device.model}' is not in the model index`,
    });
  } else if (!latest) {
    checks.push({
      name: 'reporting_interval',
      status: 'pending',
      detail: `expects a report every ${model.reportingIntervalS} s`,
    });
  } else {
    // One missed report is tolerated (radio retries, clock jitter); two are not.
    const silentMs = now - latest.seenAt;
    const limitMs = 2 * model.reportingIntervalS * 1000;
    checks.push({
      name: 'reporting_interval',
      status: silentMs <= limitMs ? 'pass' : 'fail',
      detail: `last report ${ago(silentMs)}; model reports every ${model.reportingIntervalS} s`,
    });
  }
  return checks;
}

const EIGHT_HOURS_MS = 8 * 3_600_000;

/** HJ 212 DataTime is China Standard Time; a station set to UTC shows up 8 h behind. */
function hj212Hint(drift: number, maxDrift: number): string {
  if (Math.abs(drift) <= maxDrift) return '; DataTime is read as China time (UTC+8)';
  return Math.abs(drift + EIGHT_HOURS_MS) <= Math.max(maxDrift, 900_000)
    ? '; the station seems to send UTC: HJ 212 DataTime is China time (UTC+8), set its clock to that'
    : '; DataTime is read as China time (UTC+8): set the station clock';
}

/**
 * The newest time the device itself stamped: its values and access events. `online` is left out,
 * because broker connects and TCP connections are stamped with the gateway's receive time and
 * would hide any drift.
 */
function measuredAt(latest: LatestEntry | undefined): number | undefined {
  if (!latest) return undefined;
  let t: number | undefined = latest.lastEvent?.time;
  for (const [name, v] of Object.entries(latest.values)) {
    if (name !== 'online' && (t === undefined || v.time > t)) t = v.time;
  }
  return t === undefined || t === 0 ? undefined : t;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}
