import { describe, expect, it } from 'vitest';
import { ModelIndex } from '../../processors/devices/index.js';
import { commissioningChecks } from '../../processors/registry/commissioning.js';
import { validateDevice } from '../../processors/registry/device-schema.js';
import { knownModels } from './fixtures.js';

const models = new ModelIndex();
const T = Date.UTC(2026, 5, 1, 2, 0, 0);

describe('clock drift of HJ 212 stations (DataTime, China time)', () => {
  const station = validateDevice(
    {
      id: 'hj-c',
      model: 'sinodust-yc200-hj212',
      location: { district: '祥符区', street: '城关镇', community: '城关社区', grid: '第1网格' },
      hj212: { mn: 'MNHJC0001' },
    },
    knownModels,
  );
  if (!station.ok) throw new Error(JSON.stringify(station.issues));
  const check = (time: number, seenAt: number) =>
    commissioningChecks({
      device: station.device,
      model: models.get('sinodust-yc200-hj212'),
      // The TCP connection's `online` is stamped with the receive time; it must not hide the drift.
      latest: {
        device: 'hj-c',
        family: 'dust',
        model: 'sinodust-yc200-hj212',
        time: seenAt,
        seenAt,
        online: true,
        values: { pm10_ugm3: { value: 80, time }, online: { value: 1, time: seenAt } },
      },
      now: seenAt,
    }).find((c) => c.name === 'clock_drift');

  it('is measured from DataTime, not reported as "sends no timestamp"', () => {
    expect(check(T - 5_000, T)).toMatchObject({ status: 'pass', detail: expect.stringMatching(/UTC\+8/) });
    expect(check(T - 3 * 3_600_000, T)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/behind by 10800 s/),
    });
  });

  it('says when a station seems to send UTC', () => {
    expect(check(T - 8 * 3_600_000, T)?.detail).toMatch(/seems to send UTC/);
  });
});
