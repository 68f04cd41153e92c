import type { Rejection } from '../errors.js';
import { Pipeline } from '../pipeline.js';
import { topicsFor } from '../topics.js';
import type { Device, MessageKind, Reading } from '../types.js';
import type { DeviceModel } from './define.js';

/** What one sample payload becomes: the canonical readings the sinks would get, and every reject. */
export interface SampleResult {
  readings: Reading[];
  rejects: Rejection[];
}

export interface SampleOptions {
  kind?: MessageKind;
  /** The gateway's receive time (readings without a device timestamp get it). Default now. */
  receivedAt?: number;
}

/** The device a sample is decoded for: active, placeholder location (its tags show as `-`). */
export const SAMPLE_DEVICE_ID = 'sample-device';

/**
 * Run one vendor payload through the real ingest pipeline (decoder, unit conversion, ranges, event
 * maps), for `gridgate models test` and for comparing two definitions of a model. The only
 * difference from the gateway is time sanity: a datasheet's sample carries a date long past, so
 * readings are not refused for their age, only for an unreadable timestamp.
 */
export function decodeSample(model: DeviceModel, payload: Buffer, opts: SampleOptions = {}): SampleResult {
  const kind = opts.kind ?? 'telemetry';
  const now = opts.receivedAt ?? Date.now();
  const device: Device = {
    id: SAMPLE_DEVICE_ID,
    model: model.id,
    family: model.family,
    location: { district: '-', street: '-', community: '-', grid: '-' },
    state: 'active',
    attrs: {},
    labels: {},
    cameras: [],
  };
  const readings: Reading[] = [];
  const rejects: Rejection[] = [];
  const pipeline = new Pipeline({
    devices: { get: (id) => (id === device.id ? device : undefined) },
    models: { get: (id) => (id === model.id ? model : undefined) },
    sinks: [{ write: (r) => void readings.push(r) }],
    rejects: { reject: (r) => void rejects.push(r) },
    clock: { now: () => now },
    limits: { maxAgeMs: Number.POSITIVE_INFINITY, maxFutureSkewMs: Number.POSITIVE_INFINITY },
  });
  const hj212 = model.format === 'hj212';
  pipeline.handle({
    transport: hj212 ? 'hj212' : 'mqtt',
    kind,
    deviceId: device.id,
    topic: hj212 ? `hj212/${device.id}` : topicsFor(model, device.id)[kind],
    payload,
    receivedAt: now,
  });
  return { readings, rejects };
}
