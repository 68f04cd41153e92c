import { roundSignificant } from '../metrics/decimal.js';
import type { CalibrationStep } from './device-schema.js';

/**
 * The calibration step in force at `timeMs` for one metric: the last step whose `from` is at or
 * before the reading's time (steps are stored sorted). Re-reading history applies the step that was
 * in force then, not today's. Undefined when none applies (use the raw canonical value).
 */
export function calibrationAt(
  steps: readonly CalibrationStep[] | undefined,
  timeMs: number,
): CalibrationStep | undefined {
  if (!steps) return undefined;
  let found: CalibrationStep | undefined;
  for (const s of steps) {
    if (fromMs(s) <= timeMs) found = s;
    else break;
  }
  return found;
}

/** Each step's `from` parsed once: steps are immutable parts of a device record. */
const FROM_MS = new WeakMap<CalibrationStep, number>();

function fromMs(step: CalibrationStep): number {
  let at = FROM_MS.get(step);
  if (at === undefined) {
    at = Date.parse(step.from);
    FROM_MS.set(step, at);
  }
  return at;
}

/** canonical value -> calibrated value (`value * scale + offset`, in the metric's canonical unit, to 12 significant digits). */
export function applyCalibration(
  value: number,
  steps: readonly CalibrationStep[] | undefined,
  timeMs: number,
): number {
  const s = calibrationAt(steps, timeMs);
  return s ? roundSignificant(value * s.scale + s.offset) : value;
}

/** Applies each field's calibration in force at the reading's time, in place (fields without steps are left as they are). */
export function calibrate(
  reading: { fields: Record<string, number>; time: number },
  calibration: Readonly<Record<string, readonly CalibrationStep[]>>,
): void {
  // Over the device's calibrated metrics (usually none), not over every field of every reading.
  const fields = reading.fields;
  for (const name in calibration) {
    const steps = calibration[name];
    if (steps !== undefined && steps.length > 0 && Object.hasOwn(fields, name)) {
      fields[name] = applyCalibration(fields[name] as number, steps, reading.time);
    }
  }
}
