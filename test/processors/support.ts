import type { DecodeContext } from '../../processors/decode/types.js';
import type { DeviceModel } from '../../processors/devices/define.js';
import { ModelIndex } from '../../processors/devices/index.js';
import { baseTags } from '../../processors/tags.js';
import type { Device, InboundMessage, MessageKind, Reading } from '../../processors/types.js';

export const modelIndex = new ModelIndex();

/** 2026-01-01T00:00:00Z = 2026-01-01 08:00:00 China time. */
export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

export function device(id: string, model: string, overrides: Partial<Device> = {}): Device {
  const m = modelIndex.get(model);
  return {
    id,
    model,
    family: m?.family ?? 'flood',
    location: { district: 'pudong', street: 'zhangjiang', community: 'c01', grid: 'g0101' },
    state: 'active',
    attrs: {},
    labels: {},
    cameras: [],
    ...overrides,
  };
}

export function message(
  deviceId: string,
  payload: string | Buffer,
  kind: MessageKind = 'telemetry',
  receivedAt = T0,
): InboundMessage {
  return {
    transport: 'mqtt',
    kind,
    deviceId,
    topic: `devices/${deviceId}/${kind}`,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    receivedAt,
  };
}

export function context(
  model: DeviceModel,
  payload: string | Buffer,
  kind: MessageKind = 'telemetry',
): DecodeContext {
  const d = device(`${model.id}-1`, model.id);
  return { msg: message(d.id, payload, kind), device: d, model, tags: Object.freeze(baseTags(d)) };
}

/** Readings keyed by measurement, for compact assertions. */
export function byMeasurement(readings: readonly Reading[]): Record<string, Reading> {
  const out: Record<string, Reading> = {};
  for (const r of readings) out[r.measurement] = r;
  return out;
}
