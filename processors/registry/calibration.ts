import type { CalibrationStep } from '../../config/device-schema.js';

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
    if (Date.parse(s.from) <= timeMs) found = s;
    else break;
  }
  return found;
}

/** canonical value -> calibrated value (`value * scale + offset`, in the metric's canonical unit). */
export function applyCalibration(
  value: number,
  steps: readonly CalibrationStep[] | undefined,
  timeMs: number,
): number {
  const s = calibrationAt(steps, timeMs);
  return s ? value * s.scale + s.offset : value;
}
