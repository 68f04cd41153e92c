import type { DeviceModel, FieldMapping } from '../devices/define.js';
import { canonicalCode, codeSpec } from '../hj212/codes.js';
import { Hj212Deframer } from '../hj212/deframer.js';
import { type Hj212Packet, parseDataSegment } from '../hj212/parse.js';
import { measurementFor } from '../metrics/catalogue.js';
import { parseLocalCompact } from '../time.js';
import type { Measurement, Reading } from '../types.js';
import { toRawNumber } from './fields.js';
import type { DecodeContext, DecodeReject, DecodeResult, FormatDecoder } from './types.js';

/**
 * The `hj212` wire format. `msg.payload` is one frame's data segment (what the HJ 212 adapter
 * sends), or a whole `##…\r\n` frame, which is deframed and CRC-checked here first.
 *
 * - CN 2011 real-time data (实时数据): `<code>-Rtd` -> the family's own measurement.
 * - CN 2051 / 2061 / 2031 minute / hour / day data (分钟/小时/日数据): `<code>-Avg|Min|Max` ->
 *   measurement `<family>_agg` with tags `agg` (avg|min|max) and `period` (minute|hour|day), so
 *   statistics never mix with real-time values.
 * - `<code>-Flag` (HJ 212-2017 数据标记 table) becomes the `quality` tag of that code's values.
 *   Only `N` is normal data; alert rules must skip readings whose `quality` is present and not `N`.
 * - Time is `DataTime` (yyyyMMddHHmmss, China Standard Time); receive time when it is absent.
 * - Codes the model does not map: known HJ 212 codes are left out quietly; codes unknown to both
 *   the model and processors/hj212/codes.ts are counted in one reject per message.
 */

/** HJ 212-2017 数据标记 (data flag) table. */
export const HJ212_DATA_FLAGS = {
  N: 'normal (在线监控仪器仪表工作正常)',
  F: 'instrument stopped (停运)',
  M: 'maintenance (维护)',
  S: 'manually entered value (手工输入的设定值)',
  D: 'fault (故障)',
  C: 'calibration (校准)',
  T: 'above measuring range (超测上限)',
  B: 'communication abnormal (通讯异常)',
} as const;

/** Tag value of a reading whose data flag is not one of the standard's letters. */
export const UNKNOWN_QUALITY = 'unknown';

type Kind = { agg: false } | { agg: true; period: 'minute' | 'hour' | 'day' };

/** HJ 212-2017 命令编码: the commands that upload monitoring data. */
export const HJ212_DATA_CNS: Readonly<Record<string, Kind>> = {
  '2011': { agg: false },
  '2051': { agg: true, period: 'minute' },
  '2061': { agg: true, period: 'hour' },
  '2031': { agg: true, period: 'day' },
};

const AGG_SUFFIXES = [
  ['Avg', 'avg'],
  ['Min', 'min'],
  ['Max', 'max'],
] as const;

const byCodeCache = new WeakMap<DeviceModel, ReadonlyMap<string, FieldMapping>>();

function fieldsByCode(model: DeviceModel): ReadonlyMap<string, FieldMapping> {
  let m = byCodeCache.get(model);
  if (!m) {
    const built = new Map<string, FieldMapping>();
    for (const f of model.fields) built.set(canonicalCode(f.path.join('.')), f);
    m = built;
    byCodeCache.set(model, m);
  }
  return m;
}

export const decodeHj212: FormatDecoder = (ctx) => {
  const seg = segmentOf(ctx.msg.payload);
  if (typeof seg !== 'string') return { readings: [], rejects: [seg] };
  const parsed = parseDataSegment(seg);
  if (!parsed.ok) return { readings: [], rejects: [{ reason: 'malformed', detail: parsed.detail }] };
  return decodePacket(ctx, parsed.packet);
};

/** Readings of an already-parsed packet. */
export function decodePacket(ctx: DecodeContext, p: Hj212Packet): DecodeResult {
  const kind = HJ212_DATA_CNS[p.cn];
  if (!kind) {
    return {
      readings: [],
      rejects: [{ reason: 'no_readings', detail: `CN=${p.cn} carries no monitoring data` }],
    };
  }
  let time = ctx.msg.receivedAt;
  if (p.cp.dataTime !== undefined) {
    const t = parseLocalCompact(p.cp.dataTime);
    if (t === undefined) {
      return {
        readings: [],
        rejects: [
          {
            reason: 'bad_timestamp',
            field: 'DataTime',
            detail: `DataTime=${clip(p.cp.dataTime)} is not yyyyMMddHHmmss`,
          },
        ],
      };
    }
    time = t;
  }
  const rejects: DecodeReject[] = [];
  const groups = new Map<string, Reading>();
  const byCode = fieldsByCode(ctx.model);
  const unknown: string[] = [];
  for (const [rawCode, perSuffix] of p.cp.values) {
    const mapping = byCode.get(canonicalCode(rawCode));
    if (!mapping) {
      if (!codeSpec(rawCode)) unknown.push(rawCode);
      continue;
    }
    const flag = perSuffix.get('Flag');
    const quality =
      flag === undefined ? undefined : Object.hasOwn(HJ212_DATA_FLAGS, flag) ? flag : UNKNOWN_QUALITY;
    if (!kind.agg) {
      const v = mapValue(rawCode, 'Rtd', perSuffix.get('Rtd'), mapping, rejects);
      if (v !== undefined) {
        const measurement = measurementFor(ctx.model.family, mapping.metric);
        add(groups, ctx, time, measurement, quality, undefined, undefined, mapping.metric, v);
      }
      continue;
    }
    for (const [suffix, agg] of AGG_SUFFIXES) {
      const v = mapValue(rawCode, suffix, perSuffix.get(suffix), mapping, rejects);
      if (v !== undefined) {
        add(groups, ctx, time, `${ctx.model.family}_agg`, quality, agg, kind.period, mapping.metric, v);
      }
    }
  }
  if (unknown.length > 0) {
    rejects.push({
      reason: 'unknown_code',
      field: unknown.slice(0, 8).join(','),
      detail: `HJ 212 code(s) ${unknown.slice(0, 8).join(', ')}${unknown.length > 8 ? ', …' : ''} not in model '${ctx.model.id}' nor in processors/hj212/codes.ts`,
    });
  }
  const readings = [...groups.values()];
  if (readings.length === 0 && rejects.length === 0) {
    rejects.push({ reason: 'no_readings', detail: `no code of model '${ctx.model.id}' in CN=${p.cn}` });
  }
  return { readings, rejects };
}

function mapValue(
  code: string,
  suffix: string,
  raw: string | undefined,
  m: FieldMapping,
  rejects: DecodeReject[],
): number | undefined {
  if (raw === undefined) return undefined;
  const n = toRawNumber(raw, false);
  if (n === undefined) {
    rejects.push({
      reason: 'wrong_type',
      field: m.metric,
      detail: `${code}-${suffix}=${clip(raw)} is not a number`,
    });
    return undefined;
  }
  const v = m.toCanonical(n);
  if (!(v >= m.range[0] && v <= m.range[1])) {
    rejects.push({
      reason: 'out_of_range',
      field: m.metric,
      detail: `${code}-${suffix}=${n} ${m.sourceUnit} is ${v} as ${m.metric}, outside [${m.range[0]}, ${m.range[1]}]`,
    });
    return undefined;
  }
  return v;
}

/** One reading per (measurement, quality, agg): tags are per point, so differently flagged values are separate points. */
function add(
  groups: Map<string, Reading>,
  ctx: DecodeContext,
  time: number,
  measurement: Measurement,
  quality: string | undefined,
  agg: string | undefined,
  period: string | undefined,
  metric: string,
  value: number,
): void {
  const key = `${measurement}|${quality ?? ''}|${agg ?? ''}`;
  let r = groups.get(key);
  if (!r) {
    const tags: Record<string, string> = { ...ctx.tags };
    if (quality !== undefined) tags.quality = quality;
    if (agg !== undefined && period !== undefined) {
      tags.agg = agg;
      tags.period = period;
    }
    r = { device: ctx.device.id, measurement, time, fields: {}, tags };
    groups.set(key, r);
  }
  r.fields[metric] = value;
}

/** The data segment as text: the payload itself, or the segment of the single frame it holds. */
function segmentOf(payload: Buffer): string | DecodeReject {
  if (payload.length >= 2 && payload[0] === 0x23 && payload[1] === 0x23) {
    const d = new Hj212Deframer({ maxDataLength: 9999 });
    const items = [...d.push(payload), ...d.end()];
    const first = items[0];
    if (!first) return { reason: 'malformed', detail: 'no complete frame in the payload' };
    if (first.kind === 'error') return { reason: first.reason, detail: first.detail };
    return first.data.toString('latin1');
  }
  return payload.toString('latin1');
}

function clip(s: string): string {
  return JSON.stringify(s.length > 32 ? `${s.slice(0, 32)}…` : s);
}
