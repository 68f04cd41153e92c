import type { DeviceModel } from '../devices/define.js';
import { parseDeviceTime } from '../time.js';
import type { Reading } from '../types.js';
import { type CompiledModel, compiled } from './compiled.js';
import { describeValue, mapField, readPath } from './fields.js';
import { parseJsonObject } from './json-parse.js';
import type { DecodeContext, DecodeReject, DecodeResult, FormatDecoder } from './types.js';

/**
 * The `json` wire format: a vendor JSON object per MQTT message, mapped field by field through the
 * device model. A bad field is rejected on its own and the good ones are kept; a bad envelope
 * (encoding, syntax, nesting, timestamp, event code) rejects the whole message.
 */

export interface JsonDecoderOptions {
  /** Deepest bracket nesting accepted (ingest.maxDepth). */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 32;

export function createJsonDecoder(opts: JsonDecoderOptions = {}): FormatDecoder {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  return (ctx) => {
    const parsed = parseJsonObject(ctx.msg.payload, maxDepth);
    if (!parsed.ok) return { readings: [], rejects: [{ reason: parsed.reason, detail: parsed.detail }] };
    return decodeObject(ctx, parsed.value);
  };
}

/** Maps an already-parsed vendor object (telemetry or event) to readings. */
export function decodeObject(ctx: DecodeContext, obj: Record<string, unknown>): DecodeResult {
  const c = compiled(ctx.model);
  const rejects: DecodeReject[] = [];
  const time = deviceTime(c, obj, ctx.msg.receivedAt);
  if (time === undefined) {
    return {
      readings: [],
      rejects: [
        {
          reason: 'bad_timestamp',
          field: ctx.model.time?.path,
          detail: `${ctx.model.time?.path} is ${describeValue(readPath(obj, c.time?.path ?? []))}, not ${ctx.model.time?.format}`,
        },
      ],
    };
  }
  const readings: Reading[] = [];
  if (ctx.msg.kind === 'event') {
    const ev = eventReading(ctx, c, obj, time, rejects);
    if (ev === undefined) return { readings, rejects };
    readings.push(ev);
  }
  fieldReadings(ctx, c, obj, time, readings, rejects);
  if (readings.length === 0 && rejects.length === 0) {
    rejects.push({ reason: 'no_readings', detail: `no field of model '${ctx.model.id}' in the payload` });
  }
  return { readings, rejects };
}

/** The device's timestamp if the model has one and the payload carries it; receive time otherwise; undefined if unparseable. */
export function deviceTime(c: CompiledModel, obj: unknown, receivedAt: number): number | undefined {
  if (!c.time) return receivedAt;
  const raw = readPath(obj, c.time.path);
  if (raw === undefined) return receivedAt;
  return parseDeviceTime(raw, c.time.format);
}

function fieldReadings(
  ctx: DecodeContext,
  c: CompiledModel,
  obj: Record<string, unknown>,
  time: number,
  readings: Reading[],
  rejects: DecodeReject[],
): void {
  for (const group of c.groups) {
    let fields: Record<string, number> | undefined;
    for (const m of group.fields) {
      const v = mapField(obj, m, rejects);
      if (v === undefined || Number.isNaN(v)) continue;
      if (!fields) fields = {};
      fields[m.metric] = v;
    }
    if (fields) {
      readings.push({
        device: ctx.device.id,
        measurement: group.measurement,
        time,
        fields,
        tags: ctx.tags, // the device's frozen base tags, shared: no copy per reading
      });
    }
  }
}

/** Longest door id kept as a tag; longer values would only be a hostile way to grow series cardinality. */
const MAX_TAG_LENGTH = 64;

function eventReading(
  ctx: DecodeContext,
  c: CompiledModel,
  obj: Record<string, unknown>,
  time: number,
  rejects: DecodeReject[],
): Reading | undefined {
  const model: DeviceModel = ctx.model;
  if (!model.event || !c.event) {
    rejects.push({ reason: 'unknown_event', detail: `model '${model.id}' defines no events` });
    return undefined;
  }
  const code = tagValue(readPath(obj, c.event.code));
  const event =
    code !== undefined && Object.hasOwn(model.event.map, code) ? model.event.map[code] : undefined;
  if (event === undefined) {
    rejects.push({
      reason: 'unknown_event',
      field: model.event.path,
      detail: `${model.event.path} is ${describeValue(readPath(obj, c.event.code))}, not one of ${Object.keys(model.event.map).join(', ')}`,
    });
    return undefined;
  }
  const tags: Record<string, string> = { ...ctx.tags, event };
  if (c.event.door) {
    const raw = readPath(obj, c.event.door);
    const door = tagValue(raw);
    if (door !== undefined) tags.door = door;
    else if (raw !== undefined && raw !== null) {
      rejects.push({
        reason: 'wrong_type',
        field: 'door',
        detail: `${model.event.door} is ${describeValue(raw)}, expected a string or number of at most ${MAX_TAG_LENGTH} characters`,
      });
    }
  }
  if (c.event.method && model.event.method) {
    const m = tagValue(readPath(obj, c.event.method));
    // An unknown method code keeps the event: who came through a door matters more than how.
    if (m !== undefined && Object.hasOwn(model.event.method.map, m)) {
      tags.method = model.event.method.map[m] as string;
    }
  }
  return { device: ctx.device.id, measurement: 'access', time, fields: { count: 1 }, tags };
}

function tagValue(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > 0 && v.length <= MAX_TAG_LENGTH ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}
