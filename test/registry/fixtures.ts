import { ModelIndex } from '../../processors/devices/index.js';
import type { DeviceInput, KnownModels } from '../../processors/registry/device-schema.js';

const models = new ModelIndex();
/** The real model index, as the gateway passes it. */
export const knownModels: KnownModels = (id) => models.get(id)?.family;

export function gauge(id: string, extra: Partial<DeviceInput> = {}): DeviceInput {
  return {
    id,
    model: 'hydrotek-wl300',
    location: { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '第3网格' },
    attrs: { warning_level_m: 0.3, danger_level_m: 0.5 },
    ...extra,
  };
}

export function dustMonitor(id: string, extra: Partial<DeviceInput> = {}): DeviceInput {
  return {
    id,
    model: 'sinodust-yc200',
    location: { district: '祥符区', street: '城关镇', community: '城关社区', grid: '第1网格' },
    state: 'active',
    hj212: { mn: `MN${id.replace(/\W/g, '')}`, password: 'pw-123456' },
    ...extra,
  };
}

export const SAMPLE: DeviceInput[] = [
  gauge('fg-1'),
  gauge('fg-2', {
    state: 'active',
    location: { district: '龙亭区', street: 's', community: 'c', grid: 'g' },
  }),
  dustMonitor('dm-1'),
  { ...dustMonitor('dm-2'), hj212: { mn: 'MN0002' } },
];
