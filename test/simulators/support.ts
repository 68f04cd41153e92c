import type { DeviceModel } from '../../processors/devices/define.js';
import { MODELS } from '../../processors/devices/index.js';
import type { Device, Family } from '../../processors/types.js';
import type { Behaviour, Emission, SimDevice } from '../../simulators/scenarios/types.js';

export function jsonModel(family: Family, id?: string): DeviceModel {
  const m = MODELS.find(
    (x) => x.family === family && x.format === 'json' && (id === undefined || x.id === id),
  );
  if (!m) throw new Error(`no JSON ${family} model${id ? ` '${id}'` : ''} in the index`);
  return m;
}

export function simDevice(
  id: string,
  family: Family,
  model = jsonModel(family),
  attrs: Device['attrs'] = {},
): SimDevice {
  return {
    model,
    device: {
      id,
      model: model.id,
      family,
      location: { district: '鼓楼区', street: '相国寺街道', community: '包公湖社区', grid: '第1网格' },
      state: 'active',
      attrs,
      labels: {},
      cameras: [],
    },
  };
}

/** Tick a behaviour from `start` for `hours` in steps of `stepMs`, collecting everything. */
export function run(b: Behaviour, start: number, hours: number, stepMs = 60_000): Emission[] {
  const out: Emission[] = [];
  const end = start + hours * 3_600_000;
  for (let t = start; t < end; t += stepMs) out.push(...b.tick(t, Math.min(t + stepMs, end)));
  return out;
}
