import type { DeviceModel, FieldMapping } from '../processors/devices/define.js';
import type { AccessEvent, AccessMethod, MetricName } from '../processors/metrics/catalogue.js';
import type { Unit } from '../processors/metrics/units.js';
import { formatDeviceTime } from '../processors/time.js';
import type { MessageKind } from '../processors/types.js';

/**
 * Canonical values -> a model's own vendor payload: the inverse of the decoder. Simulators speak
 * each vendor's format (field paths, units, scale, rounding, timestamp form), never the canonical
 * one, so the gateway's decode path is what they exercise.
 */

export type CanonicalValues = Partial<Record<MetricName, number>>;

/** One access-controller record in canonical terms. */
export interface AccessRecord {
  event: AccessEvent;
  door?: string;
  method?: AccessMethod;
}

export type VendorPayload = Record<string, unknown>;

/** Decimals a vendor sends per source unit: integer registers for mm and mV, 1–2 decimals elsewhere. */
const UNIT_DECIMALS: Partial<Record<Unit, number>> = {
  m: 2,
  cm: 1,
  mm: 0,
  '0.1mm': 0,
  ft: 2,
  in: 1,
  V: 2,
  mV: 0,
  ugm3: 1,
  'ug/m3': 1,
  mgm3: 2,
  'mg/m3': 2,
  dBA: 1,
  'dB(A)': 1,
  ms: 1,
  'm/s': 1,
  'km/h': 1,
  deg: 0,
  C: 1,
  degC: 1,
  degF: 1,
  K: 1,
  pct: 1,
  '%': 1,
  permille: 0,
  dBm: 0,
  bool: 0,
  index: 0,
  count: 0,
};

/**
 * How many decimals the vendor sends for this field. A scaled field (`scale: 0.01`) is an integer
 * register, so its decimals shrink by log10(scale). Rainfall keeps a decimal even in mm: tipping
 * buckets resolve 0.1–0.5 mm, and an integer would erase light rain (a `0.1mm` register counts tips).
 */
export function vendorDecimals(mapping: FieldMapping): number {
  const rainInMm = mapping.metric === 'rain_mm' && mapping.sourceUnit === 'mm';
  const base = rainInMm ? 1 : (UNIT_DECIMALS[mapping.sourceUnit] ?? 2);
  return Math.max(0, base + Math.round(Math.log10(mapping.scale)));
}

/** canonical -> the number the vendor would put on the wire, rounded as the vendor rounds it. */
export function vendorValue(mapping: FieldMapping, canonical: number): number {
  const raw = mapping.toVendor(canonical);
  const k = 10 ** vendorDecimals(mapping);
  const rounded = Math.round(raw * k) / k;
  // -0 serialises as 0 but compares oddly in tests; normalise it.
  return rounded === 0 ? 0 : rounded;
}

/** The topic a device of this model uses for `kind`. */
export function topicFor(model: DeviceModel, kind: MessageKind, deviceId: string): string {
  return model.topics[kind].replace('{deviceId}', deviceId);
}

/** Telemetry payload: every mapped field present in `values`, plus the model's timestamp if it has one. */
export function encodeTelemetry(model: DeviceModel, values: CanonicalValues, atMs: number): VendorPayload {
  const out: VendorPayload = {};
  stampTime(model, out, atMs);
  for (const f of model.fields) {
    const v = values[f.metric];
    if (v === undefined || !Number.isFinite(v)) continue;
    setPath(out, f.path, vendorValue(f, v));
  }
  return out;
}

/** Access event payload: the vendor's code for the canonical event, its door id and method codes. */
export function encodeEvent(model: DeviceModel, rec: AccessRecord, atMs: number): VendorPayload {
  const ev = model.event;
  if (!ev) throw new TypeError(`model '${model.id}' has no event mapping`);
  const code = vendorCode(ev.map, rec.event);
  if (code === undefined) throw new TypeError(`model '${model.id}' has no vendor code for '${rec.event}'`);
  const out: VendorPayload = {};
  stampTime(model, out, atMs);
  setPath(out, ev.path.split('.'), wireCode(code));
  if (ev.door && rec.door !== undefined) setPath(out, ev.door.split('.'), wireCode(rec.door));
  if (ev.method && rec.method !== undefined) {
    const m = vendorCode(ev.method.map, rec.method);
    if (m !== undefined) setPath(out, ev.method.path.split('.'), wireCode(m));
  }
  return out;
}

/** Which canonical access events this model can express (a vendor may lack e.g. `tamper`). */
export function supportedEvents(model: DeviceModel): Set<AccessEvent> {
  return new Set(Object.values(model.event?.map ?? {}));
}

export function toBuffer(payload: VendorPayload): Buffer {
  return Buffer.from(JSON.stringify(payload));
}

/** First vendor code that maps to `canonical` (reverse lookup of the model's event/method map). */
export function vendorCode<T extends string>(
  map: Readonly<Record<string, T>>,
  canonical: T,
): string | undefined {
  for (const [code, c] of Object.entries(map)) if (c === canonical) return code;
  return undefined;
}

// Controllers send numeric codes and door numbers as JSON numbers; the model map keys them as strings.
function wireCode(code: string): string | number {
  return /^(0|[1-9]\d{0,14})$/.test(code) ? Number(code) : code;
}

function stampTime(model: DeviceModel, out: VendorPayload, atMs: number): void {
  if (model.time) setPath(out, model.time.path.split('.'), formatDeviceTime(atMs, model.time.format));
}

function setPath(obj: VendorPayload, path: readonly string[], value: unknown): void {
  let node: Record<string, unknown> = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const child = node[key];
    if (typeof child === 'object' && child !== null) node = child as Record<string, unknown>;
    else {
      const fresh: Record<string, unknown> = {};
      node[key] = fresh;
      node = fresh;
    }
  }
  node[path[path.length - 1] as string] = value;
}
