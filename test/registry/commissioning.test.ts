import { describe, expect, it } from 'vitest';
import { ModelIndex } from '../../processors/devices/index.js';
import type { LatestEntry } from '../../processors/latest.js';
import { applyCalibration, calibrationAt } from '../../processors/registry/calibration.js';
import { commissioningChecks } from '../../processors/registry/commissioning.js';
import { validateDevice } from '../../processors/registry/device-schema.js';
import { gauge, knownModels } from './fixtures.js';

const models = new ModelIndex();
const T = Date.UTC(2026, 5, 1, 2, 0, 0);

function device() {
  const r = validateDevice(
    gauge('fg-c', {
      calibration: {
        water_level_m: [
          { scale: 1, offset: 0.1, from: '2026-01-01T00:00:00+08:00' },
          { scale: 2, offset: 0, from: '2026-06-01T08:00:00+08:00' },
        ],
      },
    }),
    knownModels,
  );
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.device;
}

function status(latest: LatestEntry | undefined, now = T, rejects = []) {
  const d = device();
  return Object.fromEntries(
    commissioningChecks({ device: d, model: models.get(d.model), latest, now, rejects }).map((c) => [
      c.name,
      c.status,
    ]),
  );
}

describe('commissioning checks', () => {
  it('are pending before anything arrives', () => {
    expect(status(undefined)).toEqual({
      connected: 'pending',
      first_data: 'pending',
      in_range: 'pending',
      clock_drift: 'pending',
      reporting_interval: 'pending',
    });
  });

  it('pass for a device reporting on time with a good clock', () => {
    const latest: LatestEntry = {
      device: 'fg-c',
      family: 'flood',
      model: 'hydrotek-wl300',
      time: T - 5_000,
      seenAt: T - 2_000,
      online: true,
      values: { water_level_m: { value: 1.2, time: T - 5_000 } },
    };
    expect(Object.values(status(latest))).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
  });

  it('fail on a drifting clock, a silent device and rejected values', () => {
    const latest: LatestEntry = {
      device: 'fg-c',
      family: 'flood',
      model: 'hydrotek-wl300',
      time: T - 3_600_000,
      seenAt: T - 1_000,
      online: false,
      values: { water_level_m: { value: 1.2, time: T - 3_600_000 } },
    };
    expect(status(latest)).toMatchObject({
      connected: 'fail',
      clock_drift: 'fail',
      reporting_interval: 'pass',
    });
    // hydrotek-wl300 reports every 300 s; 11 minutes of silence is two missed reports.
    expect(status(latest, T + 660_000).reporting_interval).toBe('fail');
    const rejects = [
      {
        reason: 'out_of_range',
        at: T,
        transport: 'mqtt',
        deviceId: 'fg-c',
        field: 'water_level_m',
        detail: '250 > 200',
      },
    ];
    expect(status(latest, T, rejects as never).in_range).toBe('fail');
  });
});

describe('calibration', () => {
  it('applies the step in force at the reading time, so history re-reads correctly', () => {
    const steps = device().calibration.water_level_m;
    expect(calibrationAt(steps, Date.parse('2025-12-31T00:00:00Z'))).toBeUndefined();
    expect(applyCalibration(1, steps, Date.parse('2025-12-31T00:00:00Z'))).toBe(1);
    expect(applyCalibration(1, steps, Date.parse('2026-03-01T00:00:00Z'))).toBeCloseTo(1.1);
    // 2026-06-01T08:00+08:00 is 00:00Z: the new step applies from exactly then.
    expect(applyCalibration(1, steps, Date.parse('2026-06-01T00:00:00Z'))).toBe(2);
    expect(applyCalibration(1, steps, Date.parse('2026-05-31T23:59:59Z'))).toBeCloseTo(1.1);
  });
});
