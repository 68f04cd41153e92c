import { GridgateError } from '../errors.js';
import facepassFp3 from './access/facepass-fp3.js';
import gatekeeperAc100 from './access/gatekeeper-ac100.js';
import airboxAq5 from './air/airbox-aq5.js';
import airsenseMs100Hj212 from './air/airsense-ms100-hj212.js';
import ecoairM8 from './air/ecoair-m8.js';
import rtspCamera from './camera/rtsp-camera.js';
import type { DeviceModel } from './define.js';
import clearsiteDs7 from './dust/clearsite-ds7.js';
import sinodustYc200 from './dust/sinodust-yc200.js';
import sinodustYc200Hj212 from './dust/sinodust-yc200-hj212.js';
import hydrotekWl300 from './flood/hydrotek-wl300.js';
import jiangshuiSw10 from './flood/jiangshui-sw10.js';
import riverwatchFg2 from './flood/riverwatch-fg2.js';

/**
 * Every device model, listed once. A test reads processors/devices/<family>/ and fails if a model
 * file is missing here or two models share an id.
 */
export const MODELS: readonly DeviceModel[] = [
  // flood
  hydrotekWl300,
  riverwatchFg2,
  jiangshuiSw10,
  // dust
  sinodustYc200,
  clearsiteDs7,
  // air
  airboxAq5,
  ecoairM8,
  // access
  gatekeeperAc100,
  facepassFp3,
  // camera: measured by the gateway's RTSP supervisor, not sent by the device
  rtspCamera,
  // HJ 212-2017 models (wire format hj212, decoded by processors/decode/hj212.ts)
  sinodustYc200Hj212,
  airsenseMs100Hj212,
];

/**
 * Where a model comes from: a TypeScript file shipped in the package, or a YAML file in the
 * configured models folder (models.dir). A file model may replace a shipped model of the same id
 * (`overrides` names the shipped file); two files may not define one id.
 */
export type ModelOrigin =
  | { readonly kind: 'shipped'; readonly file: string }
  | { readonly kind: 'file'; readonly file: string; readonly line: number; readonly overrides?: string };

/** A shipped model's file: processors/devices/<family>/<id>.ts (a test keeps every model there). */
export function shippedOrigin(model: DeviceModel): ModelOrigin {
  return { kind: 'shipped', file: `processors/devices/${model.family}/${model.id}.ts` };
}

/** A complete set of models, each with its origin; what a model-folder load produces. */
export interface ModelSet {
  readonly models: readonly DeviceModel[];
  readonly origins: ReadonlyMap<string, ModelOrigin>;
}

interface Snapshot {
  readonly byId: ReadonlyMap<string, DeviceModel>;
  readonly all: readonly DeviceModel[];
  readonly origins: ReadonlyMap<string, ModelOrigin>;
}

function snapshot(models: readonly DeviceModel[], origins?: ReadonlyMap<string, ModelOrigin>): Snapshot {
  const byId = new Map<string, DeviceModel>();
  const dupes: string[] = [];
  for (const m of models) {
    if (byId.has(m.id)) dupes.push(`model id '${m.id}' is defined twice`);
    byId.set(m.id, m);
  }
  if (dupes.length > 0) throw new GridgateError('GG_ERR_MODEL_INVALID', 'duplicate device model ids', dupes);
  const o = new Map<string, ModelOrigin>();
  for (const m of models) o.set(m.id, origins?.get(m.id) ?? shippedOrigin(m));
  return { byId, all: [...models], origins: o };
}

/**
 * Models by id. Construction (and replace) fails on a duplicate id. The set lives in one frozen
 * snapshot that `replace()` swaps in a single assignment: a message is decoded with the model
 * object it looked up, and every later lookup sees the whole new set, never half of it.
 */
export class ModelIndex {
  #snap: Snapshot;

  constructor(models: readonly DeviceModel[] = MODELS, origins?: ReadonlyMap<string, ModelOrigin>) {
    this.#snap = snapshot(models, origins);
  }

  get(id: string): DeviceModel | undefined {
    return this.#snap.byId.get(id);
  }

  all(): readonly DeviceModel[] {
    return this.#snap.all;
  }

  origin(id: string): ModelOrigin | undefined {
    return this.#snap.origins.get(id);
  }

  /** Put a new, already validated set in place of the current one. */
  replace(set: ModelSet): void {
    this.#snap = snapshot(set.models, set.origins);
  }
}
