import { describe, expect, it } from 'vitest';
import { DeadLetterStore } from '../../processors/deadletters.js';
import { Pipeline } from '../../processors/pipeline.js';
import type { Device, Reading } from '../../processors/types.js';
import { device, message, modelIndex, T0 } from './support.js';

describe('per-device calibration in the pipeline', () => {
  it('applies the step in force at the reading time, so history re-reads with the calibration of its day', () => {
    const d: Device = device('wl-cal', 'hydrotek-wl300', {
      calibration: {
        water_level_m: [
          { scale: 1, offset: 0.1, from: new Date(T0 - 86_400_000).toISOString() },
          { scale: 1.02, offset: -0.03, from: new Date(T0 + 3_600_000).toISOString() },
        ],
      },
    });
    const got: Reading[] = [];
    const p = new Pipeline({
      devices: { get: (id) => (id === d.id ? d : undefined) },
      models: modelIndex,
      sinks: [{ write: (r) => got.push(r) }],
      rejects: new DeadLetterStore(),
      clock: { now: () => T0 + 7_200_000 },
    });
    const at = (ms: number) => Math.floor(ms / 1000);
    p.handle(message(d.id, JSON.stringify({ ts: at(T0), wl: 2000, bat: 3600 })));
    p.handle(message(d.id, JSON.stringify({ ts: at(T0 + 5_400_000), wl: 2000, bat: 3600 })));
    const levels = got.filter((r) => r.measurement === 'flood').map((r) => r.fields.water_level_m);
    expect(levels[0]).toBeCloseTo(2.1, 9);
    // 2 × 1.02 − 0.03 is 2.0100000000000002 in floating point; the calibrated value is the decimal.
    expect(levels[1]).toBe(2.01);
    // uncalibrated metrics are untouched
    expect(got.find((r) => r.measurement === 'flood')?.fields.battery_v).toBeCloseTo(3.6, 9);
  });
});
