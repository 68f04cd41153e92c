import { GridgateError } from '../errors.js';
import {
  ACCESS_EVENTS,
  ACCESS_METHODS,
  type AccessEvent,
  type AccessMethod,
  isMetricName,
  METRICS,
  type MetricName,
} from '../metrics/catalogue.js';
import { roundSignificant } from '../metrics/decimal.js';
import { isUnit, type Unit, unitConverter } from '../metrics/units.js';
import { FAMILIES, type Family, type MessageKind } from '../types.js';

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

/** One problem with a field mapping; `key` is the option at fault (`unit`, `scale`), or '' for the metric name. */
export interface MetricProblem {
  key: 'metric' | keyof MetricOptions;
  message: string;
}

/**
 * Everything wrong with one field mapping, at once. `metric()` throws on any; the model-file loader
 * (devices/yaml.ts) reports each at its line. One check, so a TypeScript model and a model file
 * accept exactly the same mappings.
 */
export function metricProblems(name: string, opts: MetricOptions): MetricProblem[] {
  const problems: MetricProblem[] = [];
  if (!isMetricName(name)) {
    problems.push({ key: 'metric', message: `unknown canonical metric '${name}'` });
    return problems;
  }
  const spec = METRICS[name];
  const sourceUnit = opts.unit ?? spec.unit;
  if (!isUnit(sourceUnit)) {
    problems.push({ key: 'unit', message: `metric '${name}': unknown unit '${sourceUnit}'` });
  } else {
    try {
      unitConverter(sourceUnit, spec.unit);
    } catch (err) {
      problems.push({ key: 'unit', message: `metric '${name}': ${(err as Error).message}` });
    }
  }
  if (typeof opts.path !== 'string' || opts.path === '' || opts.path.split('.').includes('')) {
    problems.push({ key: 'path', message: `metric '${name}': path must be a non-empty dotted path` });
  }
  const scale = opts.scale ?? 1;
  const offset = opts.offset ?? 0;
  if (scale === 0 || !Number.isFinite(scale)) {
    problems.push({ key: 'scale', message: `metric '${name}': scale must be a non-zero finite number` });
  }
  if (!Number.isFinite(offset)) {
    problems.push({ key: 'offset', message: `metric '${name}': offset must be a finite number` });
  }
  const r = opts.range;
  if (
    r !== undefined &&
    !(r.length === 2 && Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] <= r[1])
  ) {
    problems.push({
      key: 'range',
      message: `metric '${name}': range must be [low, high] finite numbers, low <= high`,
    });
  }
  return problems;
}

export function metric(name: MetricName, opts: MetricOptions): FieldMapping {
  const problems = metricProblems(name, opts);
  if (problems.length > 0) {
    throw new GridgateError(
      'GG_ERR_MODEL_INVALID',
      problems.length === 1 ? (problems[0] as MetricProblem).message : `metric '${name}' is invalid`,
      problems.map((p) => p.message),
    );
  }
  const spec = METRICS[name];
  const sourceUnit = (opts.unit ?? spec.unit) as Unit;
  const scale = opts.scale ?? 1;
  const offset = opts.offset ?? 0;
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
export const WIRE_FORMATS: readonly WireFormat[] = ['json', 'hj212'];
export const TIME_FORMATS: readonly TimeFormat[] = ['epoch_s', 'epoch_ms', 'iso8601', 'local_compact'];
const MESSAGE_KINDS: readonly MessageKind[] = ['telemetry', 'event', 'status'];

/** One problem with a model, located by its path in the input (`['fields', 2]`, `['topics', 'event']`). */
export interface ModelProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Everything wrong with a model, at once. The checks a TypeScript compiler makes for a model file
 * (families, formats, event names) run here too, because a YAML model file has no compiler: one
 * validation for both ways of writing a model.
 */
export function modelProblems(input: ModelInput): ModelProblem[] {
  const problems: ModelProblem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });
  if (typeof input.id !== 'string' || !MODEL_ID.test(input.id))
    add(['id'], `id '${input.id}' must be lower-case vendor-model, e.g. 'hydrotek-wl300'`);
  for (const key of ['vendor', 'name'] as const) {
    if (typeof input[key] !== 'string' || input[key].trim() === '')
      add([key], `${key} must be a non-empty string`);
  }
  if (!(FAMILIES as readonly string[]).includes(input.family))
    add(['family'], `family '${input.family}' is not one of ${FAMILIES.join(', ')}`);
  if (!WIRE_FORMATS.includes(input.format))
    add(['format'], `format '${input.format}' is not one of ${WIRE_FORMATS.join(', ')}`);
  if (input.time && !TIME_FORMATS.includes(input.time.format))
    add(['time', 'format'], `time format '${input.time.format}' is not one of ${TIME_FORMATS.join(', ')}`);
  const seen = new Set<string>();
  input.fields.forEach((f, i) => {
    if (seen.has(f.metric)) add(['fields', i], `metric '${f.metric}' is mapped twice`);
    seen.add(f.metric);
  });
  if (input.event) eventProblems(input.event, add);
  if (input.family === 'access' && !input.event) add(['event'], 'an access model needs an `event` mapping');
  if (input.family !== 'access' && input.fields.length === 0)
    add(['fields'], 'a model needs at least one field');
  if (!(input.reportingIntervalS > 0)) add(['reportingIntervalS'], 'reportingIntervalS must be > 0');
  for (const [kind, pattern] of Object.entries(input.topics ?? {})) {
    if (!MESSAGE_KINDS.includes(kind as MessageKind)) {
      add(['topics', kind], `topics.${kind}: not a message kind (${MESSAGE_KINDS.join(', ')})`);
      continue;
    }
    if (typeof pattern !== 'string') continue;
    const levels = pattern.split('/');
    if (levels.filter((l) => l === '{deviceId}').length !== 1) {
      add(['topics', kind], `topics.${kind} '${pattern}' must contain exactly one '{deviceId}' level`);
    }
    // [MQTT-4.7.1-1] wildcards never appear in a publish topic.
    if (/[+#]/.test(pattern))
      add(['topics', kind], `topics.${kind} '${pattern}' must not contain MQTT wildcards`);
    else if (levels.some((l) => l === '' || (l !== '{deviceId}' && /[{}]/.test(l))))
      add(
        ['topics', kind],
        `topics.${kind} '${pattern}' must have non-empty literal levels besides '{deviceId}'`,
      );
  }
  return problems;
}

function eventProblems(event: EventMapping, add: (path: (string | number)[], message: string) => void): void {
  for (const [code, name] of Object.entries(event.map)) {
    if (!(ACCESS_EVENTS as readonly string[]).includes(name))
      add(['event', 'map', code], `event '${name}' is not one of ${ACCESS_EVENTS.join(', ')}`);
  }
  if (Object.keys(event.map).length === 0) add(['event', 'map'], 'event.map needs at least one code');
  for (const [code, name] of Object.entries(event.method?.map ?? {})) {
    if (!(ACCESS_METHODS as readonly string[]).includes(name))
      add(['event', 'method', 'map', code], `method '${name}' is not one of ${ACCESS_METHODS.join(', ')}`);
  }
}

export function defineModel(input: ModelInput): DeviceModel {
  const problems = modelProblems(input);
  if (problems.length > 0) {
    throw new GridgateError(
      'GG_ERR_MODEL_INVALID',
      `device model '${input.id}' is invalid`,
      problems.map((p) => p.message),
    );
  }
  const topics = { ...DEFAULT_TOPICS, ...input.topics };
  return Object.freeze({ ...input, topics });
}
