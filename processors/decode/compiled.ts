import type { DeviceModel, FieldMapping, FieldPath, TimeFormat } from '../devices/define.js';
import { measurementFor } from '../metrics/catalogue.js';
import type { Measurement } from '../types.js';

/**
 * A model prepared for the hot path, once per model object: fields grouped by the measurement they
 * land in, and every dotted path split. Cached by identity, so a reloaded model compiles afresh.
 */
export interface FieldGroup {
  readonly measurement: Measurement;
  readonly fields: readonly FieldMapping[];
}

export interface CompiledModel {
  readonly groups: readonly FieldGroup[];
  readonly time?: { readonly path: FieldPath; readonly format: TimeFormat };
  readonly event?: {
    readonly code: FieldPath;
    readonly door?: FieldPath;
    readonly method?: FieldPath;
  };
}

const cache = new WeakMap<DeviceModel, CompiledModel>();

export function compiled(model: DeviceModel): CompiledModel {
  let c = cache.get(model);
  if (!c) {
    c = compile(model);
    cache.set(model, c);
  }
  return c;
}

function compile(model: DeviceModel): CompiledModel {
  const byMeasurement = new Map<Measurement, FieldMapping[]>();
  for (const f of model.fields) {
    const m = measurementFor(model.family, f.metric);
    const list = byMeasurement.get(m);
    if (list) list.push(f);
    else byMeasurement.set(m, [f]);
  }
  const groups = [...byMeasurement].map(([measurement, fields]) => ({ measurement, fields }));
  const out: {
    groups: FieldGroup[];
    time?: CompiledModel['time'];
    event?: CompiledModel['event'];
  } = { groups };
  if (model.time) out.time = { path: model.time.path.split('.'), format: model.time.format };
  if (model.event) {
    out.event = {
      code: model.event.path.split('.'),
      ...(model.event.door ? { door: model.event.door.split('.') } : {}),
      ...(model.event.method ? { method: model.event.method.path.split('.') } : {}),
    };
  }
  return out;
}
