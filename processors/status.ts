import { compiled } from './decode/compiled.js';
import { describeValue, mapField, readPath } from './decode/fields.js';
import { deviceTime } from './decode/json.js';
import { decodeUtf8, parseJsonObject } from './decode/json-parse.js';
import type { DecodeContext, DecodeReject, DecodeResult } from './decode/types.js';
import { type FieldMapping, metric } from './devices/define.js';
import type { MetricName } from './metrics/catalogue.js';
import { baseTags } from './tags.js';
import type { Device, Reading } from './types.js';

/**
 * `status` messages, including the MQTT last will: a bare `online`/`offline`/`1`/`0`, or a JSON
 * object such as `{"online":true,"battery":3.6,"rssi":-71}`. They always land in measurement
 * `device`, whatever the family. A field the model maps (online, battery_v, rssi_dbm) is read
 * where the model says; otherwise the canonical name or its common short form.
 */

type DeviceMetric = 'online' | 'battery_v' | 'rssi_dbm';
const STATUS_METRICS: readonly DeviceMetric[] = ['online', 'battery_v', 'rssi_dbm'];

const FALLBACKS: Record<DeviceMetric, readonly FieldMapping[]> = {
  online: [metric('online', { path: 'online' }), metric('online', { path: 'status' })],
  battery_v: [metric('battery_v', { path: 'battery_v' }), metric('battery_v', { path: 'battery' })],
  rssi_dbm: [metric('rssi_dbm', { path: 'rssi_dbm' }), metric('rssi_dbm', { path: 'rssi' })],
};

/** Longest bare status word worth looking at; anything longer is JSON or junk. */
const MAX_WORD = 16;

export function decodeStatus(ctx: DecodeContext, maxDepth: number): DecodeResult {
  const buf = ctx.msg.payload;
  if (buf.length <= MAX_WORD) {
    const text = decodeUtf8(buf);
    const online = text === undefined ? undefined : onlineWord(text.trim());
    if (online !== undefined) {
      return { readings: [connectivity(ctx.device.id, ctx.tags, online, ctx.msg.receivedAt)], rejects: [] };
    }
  }
  const parsed = parseJsonObject(buf, maxDepth);
  if (!parsed.ok) return { readings: [], rejects: [{ reason: parsed.reason, detail: parsed.detail }] };
  const obj = parsed.value;
  const c = compiled(ctx.model);
  const time = deviceTime(c, obj, ctx.msg.receivedAt);
  if (time === undefined) {
    return {
      readings: [],
      rejects: [{ reason: 'bad_timestamp', field: ctx.model.time?.path, detail: `unparseable device time` }],
    };
  }
  const rejects: DecodeReject[] = [];
  let fields: Record<string, number> | undefined;
  for (const name of STATUS_METRICS) {
    const v = statusField(ctx, obj, name, rejects);
    if (v === undefined || Number.isNaN(v)) continue;
    if (!fields) fields = {};
    fields[name] = v;
  }
  if (!fields) {
    if (rejects.length === 0) {
      rejects.push({ reason: 'no_readings', detail: 'status holds none of online, battery_v, rssi_dbm' });
    }
    return { readings: [], rejects };
  }
  return {
    readings: [{ device: ctx.device.id, measurement: 'device', time, fields, tags: { ...ctx.tags } }],
    rejects,
  };
}

function statusField(
  ctx: DecodeContext,
  obj: Record<string, unknown>,
  name: DeviceMetric,
  rejects: DecodeReject[],
): number | undefined {
  const mapped = modelField(ctx, name);
  const candidates = mapped ? [mapped] : FALLBACKS[name];
  for (const m of candidates) {
    if (name === 'online') {
      // "online"/"offline" words inside JSON, too.
      const raw = readPath(obj, m.path);
      if (typeof raw === 'string') {
        const w = onlineWord(raw);
        if (w !== undefined) return w ? 1 : 0;
        rejects.push({
          reason: 'wrong_type',
          field: 'online',
          detail: `${m.path.join('.')} is ${describeValue(raw)}, expected online/offline, true/false or 1/0`,
        });
        return Number.NaN;
      }
    }
    const v = mapField(obj, m, rejects);
    if (v !== undefined) return v;
  }
  return undefined;
}

function modelField(ctx: DecodeContext, name: MetricName): FieldMapping | undefined {
  for (const f of ctx.model.fields) if (f.metric === name) return f;
  return undefined;
}

/** true for online/1/true, false for offline/0/false (any case), undefined otherwise. */
export function onlineWord(s: string): boolean | undefined {
  switch (s.toLowerCase()) {
    case 'online':
    case '1':
    case 'true':
      return true;
    case 'offline':
    case '0':
    case 'false':
      return false;
    default:
      return undefined;
  }
}

/** The `device` point for a broker connect (online) or disconnect (offline) of the device's client. */
export function connectivityReading(device: Device, online: boolean, at: number): Reading {
  return connectivity(device.id, baseTags(device), online, at);
}

function connectivity(
  deviceId: string,
  tags: Readonly<Record<string, string>>,
  online: boolean,
  at: number,
): Reading {
  return {
    device: deviceId,
    measurement: 'device',
    time: at,
    fields: { online: online ? 1 : 0 },
    tags: { ...tags },
  };
}
