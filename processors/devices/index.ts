import { GridgateError } from '../errors.js';
import facepassFp3 from './access/facepass-fp3.js';
import gatekeeperAc100 from './access/gatekeeper-ac100.js';
import airboxAq5 from './air/airbox-aq5.js';
import airsenseMs100Hj212 from './air/airsense-ms100-hj212.js';
import ecoairM8 from './air/ecoair-m8.js';
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
  // HJ 212-2017 models (wire format hj212, decoded by processors/decode/hj212.ts)
  sinodustYc200Hj212,
  airsenseMs100Hj212,
];

/** Models by id. Built once; construction fails on a duplicate id. */
export class ModelIndex {
  readonly #byId = new Map<string, DeviceModel>();
  readonly #all: readonly DeviceModel[];

  constructor(models: readonly DeviceModel[] = MODELS) {
    const dupes: string[] = [];
    for (const m of models) {
      if (this.#byId.has(m.id)) dupes.push(`model id '${m.id}' is defined twice`);
      this.#byId.set(m.id, m);
    }
    if (dupes.length > 0)
      throw new GridgateError('GG_ERR_MODEL_INVALID', 'duplicate device model ids', dupes);
    this.#all = [...models];
  }

  get(id: string): DeviceModel | undefined {
    return this.#byId.get(id);
  }

  all(): readonly DeviceModel[] {
    return this.#all;
  }
}
