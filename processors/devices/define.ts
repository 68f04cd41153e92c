import { GridgateError } from '../errors.js';
import {
  type AccessEvent,
  type AccessMethod,
  isMetricName,
  METRICS,
  type MetricName,
} from '../metrics/catalogue.js';
import { roundSignificant } from '../metrics/decimal.js';
import { isUnit, type Unit, unitConverter } from '../metrics/units.js';
import type { Family, MessageKind } from '../types.js';

/**
 * A device model is data, not a branch in a switch (after zigbee-herdsman-converters): one file per
 * model under processors/devices/<family>/<model>.ts exporting `defineModel({...})`, listed in
 * processors/devices/index.ts. Adding a vendor never touches the runtime.
 */

/** How a vendor encodes time. `local_compact` is yyyyMMddHHmmss[zzz] in China Standard Time (UTC+8), as HJ 212 and many vendors send it. */
export type TimeFormat = 'epoch_s' | 'epoch_ms' | 'iso8601' | 'local_compact';

export type WireFormat = 'json' | 'hj212';

/** A path into the payload, dotted (`data.wl`); for hj212 models, the pollutant/parameter code (`a34002`). */
export type FieldPath = readonly string[];

export interface MetricOptions {
  /** Where the vendor puts the value. Dotted for nested JSON objects. */
  path: string;
  /** The unit the vendor reports in; converted to the metric's canonical unit. Defaults to the canonical unit. */
  unit?: Unit;
  /** Applied to the raw number before unit conversion: canonical = convert(raw * scale + offset), to 12 significant digits (metrics/decimal.ts). */
  scale?: number;
  offset?: number;
  /** Narrower physical range for this model (e.g. the sensor's span); defaults to the metric's. */
  range?: readonly [number, number];
}

/** One vendor field -> one canonical metric. Built by `metric()`; both the decoder and the TS schema read it. */
export interface FieldMapping {
  readonly metric: MetricName;
  readonly path: FieldPath;
  readonly sourceUnit: Unit;
  readonly scale: number;
  readonly offset: number;
  readonly range: readonly [number, number];
  /** raw vendor number -> canonical value. */
  readonly toCanonical: (raw: number) => number;
  /** canonical value -> raw vendor number (simulators use it to speak the vendor's format). */
  readonly toVendor: (canonical: number) => number;
}

export function metric(name: MetricName, opts: MetricOptions): FieldMapping {
  if (!isMetricName(name))
    throw new GridgateError('GG_ERR_MODEL_INVALID', `unknown canonical metric '${name}'`);
  const spec = METRICS[name];
  const sourceUnit = opts.unit ?? (spec.unit as Unit);
  if (!isUnit(sourceUnit))
    throw new GridgateError('GG_ERR_MODEL_INVALID', `metric '${name}': unknown unit '${sourceUnit}'`);
  const scale = opts.scale ?? 1;
  const offset = opts.offset ?? 0;
  if (scale === 0 || !Number.isFinite(scale) || !Number.isFinite(offset)) {
    throw new GridgateError(
      'GG_ERR_MODEL_INVALID',
      `metric '${name}': scale must be a non-zero finite number and offset finite`,
    );
  }
  const conv = unitConverter(sourceUnit, spec.unit);
  const inverse = unitConverter(spec.unit, sourceUnit);
  // A value taken as the vendor sent it is the double JSON or HJ 212 text gave; a converted one is
  // rounded to 12 significant digits, so 1751 mm is 1.751 m, not 1.7510000000000001 (decimal.ts).
  const identity = scale === 1 && offset === 0 && conv(1) === 1 && conv(0) === 0;
  return {
    metric: name,
    path: opts.path.split('.'),
    sourceUnit,
    scale,
    offset,
    range: opts.range ?? spec.range,
    toCanonical: identity ? (raw) => raw : (raw) => roundSignificant(conv(raw * scale + offset)),
    toVendor: (canonical) => (inverse(canonical) - offset) / scale,
  };
}

/** Access controllers: how a vendor's event record maps to the canonical access event. */
export interface EventMapping {
  /** Path of the vendor's event code. */
  path: string;
  /** vendor code (as a string) -> canonical event. */
  map: Readonly<Record<string, AccessEvent>>;
  /** Path of the door / reader id, if sent. */
  door?: string;
  method?: { path: string; map: Readonly<Record<string, AccessMethod>> };
}

export interface TimeMapping {
  path: string;
  format: TimeFormat;
}

export interface ModelInput {
  /** Unique, lower-case, `vendor-model` (e.g. `hydrotek-wl300`). */
  id: string;
  vendor: string;
  name: string;
  family: Family;
  format: WireFormat;
  /** Topic patterns per message kind, `{deviceId}` marks the device id. Default `devices/{deviceId}/<kind>`. */
  topics?: Partial<Record<MessageKind, string>>;
  /** Where the device's own timestamp is; absent means the gateway stamps receive time. */
  time?: TimeMapping;
  /** Telemetry fields (kind `telemetry`, and `status` for online/battery_v/rssi_dbm). */
  fields: readonly FieldMapping[];
  /** Access controllers: event records (kind `event`). */
  event?: EventMapping;
  /** How often the device reports when healthy; commissioning checks and deadman defaults use it. */
  reportingIntervalS: number;
  description?: string;
}

export interface DeviceModel extends Omit<ModelInput, 'topics'> {
  readonly topics: Readonly<Record<MessageKind, string>>;
}

export const DEFAULT_TOPICS: Readonly<Record<MessageKind, string>> = {
  telemetry: 'devices/{deviceId}/telemetry',
  event: 'devices/{deviceId}/event',
  status: 'devices/{deviceId}/status',
};

const MODEL_ID = /^[a-z0-9]+(-[a-z0-9]+)+$/;

export function defineModel(input: ModelInput): DeviceModel {
  const problems: string[] = [];
  if (!MODEL_ID.test(input.id))
    problems.push(`id '${input.id}' must be lower-case vendor-model, e.g. 'hydrotek-wl300'`);
  const seen = new Set<string>();
  for (const f of input.fields) {
    if (seen.has(f.metric)) problems.push(`metric '${f.metric}' is mapped twice`);
    seen.add(f.metric);
  }
  if (input.family === 'access' && !input.event) problems.push('an access model needs an `event` mapping');
  if (input.family !== 'access' && input.fields.length === 0)
    problems.push('a model needs at least one field');
  if (!(input.reportingIntervalS > 0)) problems.push('reportingIntervalS must be > 0');
  const topics = { ...DEFAULT_TOPICS, ...input.topics };
  for (const [kind, pattern] of Object.entries(topics)) {
    if (pattern.split('/').filter((l) => l === '{deviceId}').length !== 1) {
      problems.push(`topics.${kind} '${pattern}' must contain exactly one '{deviceId}' level`);
    }
    if (/[+#]/.test(pattern)) problems.push(`topics.${kind} '${pattern}' must not contain MQTT wildcards`);
  }
  if (problems.length > 0) {
    throw new GridgateError('GG_ERR_MODEL_INVALID', `device model '${input.id}' is invalid`, problems);
  }
  return Object.freeze({ ...input, topics });
}
