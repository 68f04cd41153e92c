/**
 * Parses an HJ 212 data segment (the bytes between the length field and the CRC).
 *
 * HJ 212-2017 数据段结构组成 (data segment table): `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&`
 *  - fields are `key=value` separated by `;`; CP comes last and is wrapped in `&&`;
 *  - inside CP (指令参数 CP), groups are separated by `;` and items within a group by `,`,
 *    each item `key=value`; per-pollutant keys are `<code>-<suffix>` (`a34002-Rtd`, `a34002-Flag`,
 *    `a34002-Avg`, …), anything else (`DataTime`, `RtdInterval`, `QnRtn`) is a plain parameter.
 * Real devices reorder the header fields, omit QN (HJ/T 212-2005 uploads) or add their own keys, so
 * order is not enforced and unknown keys are kept, not refused. Only CN and MN are required: without
 * them the frame can be neither routed nor answered.
 */

export interface Hj212Packet {
  /** Request id, yyyyMMddHHmmssSSS (数据段结构组成, QN); echoed in responses. */
  qn?: string;
  /** System code (e.g. 22 air quality, 31 flue gas, 32 surface water). */
  st?: string;
  /** Command code: 2011 real-time data, 2051 minute, 2061 hour, 2031 day, 9014 data response, … */
  cn: string;
  pw?: string;
  /** Device (monitoring point) id. */
  mn: string;
  /** Flag bits (数据段结构组成, Flag 标志位): bit 0 A = answer required, bit 1 D = packetised, bits 2.. version. */
  flag?: number;
  /** Total packets and this packet's number when packetised (Flag bit D). */
  pnum?: number;
  pno?: number;
  cp: Hj212Cp;
  /** Header keys this parser does not know, kept for diagnostics. */
  extra: ReadonlyMap<string, string>;
}

export interface Hj212Cp {
  /** `DataTime`, yyyyMMddHHmmss in China Standard Time (指令参数 CP). */
  dataTime?: string;
  /** Per-code values: code -> suffix (`Rtd`, `Avg`, `Min`, `Max`, `Flag`, `Cou`, …) -> raw text. */
  values: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Plain parameters other than DataTime (`RtdInterval`, `QnRtn`, `ExeRtn`, …). */
  params: ReadonlyMap<string, string>;
}

export type ParseResult = { ok: true; packet: Hj212Packet } | { ok: false; detail: string };

/** HJ 212-2017 Flag bit 0 (A, 应答标志): the sender wants a response (9014 for uploaded data). */
export const FLAG_ANSWER = 0b1;
/** HJ 212-2017 Flag bit 1 (D, 拆分包标志): the command is split into PNUM packets, this one being PNO. */
export const FLAG_PACKETISED = 0b10;

const CP_OPEN = 'CP=&&';
const MAX_FIELDS = 512;

export function parseDataSegment(segment: string): ParseResult {
  const cpAt = segment.indexOf(CP_OPEN);
  if (cpAt < 0) return { ok: false, detail: "no 'CP=&&' in the data segment" };
  const cpClose = segment.lastIndexOf('&&');
  if (cpClose < cpAt + CP_OPEN.length) return { ok: false, detail: "CP is not closed with '&&'" };
  const tail = segment.slice(cpClose + 2);
  if (tail !== '' && tail !== ';') return { ok: false, detail: `unexpected text after CP: ${clip(tail)}` };

  const header = new Map<string, string>();
  for (const part of segment.slice(0, cpAt).split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, detail: `header item without key=value: ${clip(part)}` };
    header.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const cn = header.get('CN');
  const mn = header.get('MN');
  if (!cn || !/^\d{1,7}$/.test(cn))
    return { ok: false, detail: `CN missing or not numeric: ${clip(cn ?? '')}` };
  if (!mn) return { ok: false, detail: 'MN missing' };

  const cp = parseCp(segment.slice(cpAt + CP_OPEN.length, cpClose));
  if (typeof cp === 'string') return { ok: false, detail: cp };

  const packet: Hj212Packet = { cn, mn, cp, extra: new Map() };
  const extra = new Map<string, string>();
  for (const [k, v] of header) {
    switch (k) {
      case 'QN':
        packet.qn = v;
        break;
      case 'ST':
        packet.st = v;
        break;
      case 'PW':
        packet.pw = v;
        break;
      case 'CN':
      case 'MN':
        break;
      case 'Flag': {
        const f = toUint(v);
        if (f === undefined) return { ok: false, detail: `Flag is not a non-negative integer: ${clip(v)}` };
        packet.flag = f;
        break;
      }
      case 'PNUM':
      case 'PNO': {
        const n = toUint(v);
        if (n === undefined) return { ok: false, detail: `${k} is not a non-negative integer: ${clip(v)}` };
        if (k === 'PNUM') packet.pnum = n;
        else packet.pno = n;
        break;
      }
      default:
        extra.set(k, v);
    }
  }
  packet.extra = extra;
  return { ok: true, packet };
}

function parseCp(body: string): Hj212Cp | string {
  const values = new Map<string, Map<string, string>>();
  const params = new Map<string, string>();
  let dataTime: string | undefined;
  let count = 0;
  for (const group of body.split(';')) {
    if (group === '') continue;
    for (const item of group.split(',')) {
      if (item === '') continue;
      if (++count > MAX_FIELDS) return `CP holds more than ${MAX_FIELDS} items`;
      const eq = item.indexOf('=');
      if (eq <= 0) return `CP item without key=value: ${clip(item)}`;
      const key = item.slice(0, eq);
      const value = item.slice(eq + 1);
      const dash = key.lastIndexOf('-');
      if (dash > 0 && dash < key.length - 1) {
        const code = key.slice(0, dash);
        const suffix = key.slice(dash + 1);
        let perCode = values.get(code);
        if (!perCode) {
          perCode = new Map();
          values.set(code, perCode);
        }
        perCode.set(suffix, value);
      } else if (key === 'DataTime') {
        dataTime = value;
      } else {
        params.set(key, value);
      }
    }
  }
  return dataTime === undefined ? { values, params } : { dataTime, values, params };
}

function toUint(s: string): number | undefined {
  return /^\d{1,9}$/.test(s) ? Number(s) : undefined;
}

function clip(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}
