import type { Hj212Lookup } from '../adapters/hj212/ingest.js';
import type { RejectSink } from '../processors/errors.js';
import type { Pipeline } from '../processors/pipeline.js';
import type { DeviceIndex } from '../processors/registry/device-index.js';

/** Binds the HJ 212 edge to the registry (MN -> device, PW) and to the pipeline. */
export function hj212Ingest(registry: DeviceIndex, pipeline: Pipeline, rejects: RejectSink) {
  const lookup: Hj212Lookup = (mn) => {
    const d = registry.byHj212Mn(mn);
    if (!d || d.state === 'retired') return undefined;
    return d.hj212?.password === undefined
      ? { deviceId: d.id }
      : { deviceId: d.id, password: d.hj212.password };
  };
  return {
    lookup,
    onMessage: (msg: Parameters<Pipeline['handle']>[0]) => pipeline.handle(msg),
    onReject: (r: Parameters<RejectSink['reject']>[0]) => rejects.reject(r),
    onStatus: (deviceId: string, online: boolean) => pipeline.connectivity(deviceId, online),
  };
}
