import { crcToHex, hj212Crc16 } from './crc.js';
import { FLAG_ANSWER } from './parse.js';

/**
 * Builds frames (simulators, responses, tests). HJ 212-2017 通讯包结构组成 (packet structure table): `##` + 4-digit decimal length
 * of the data segment + data segment + CRC16 of the data segment as 4 hex digits + CR LF.
 */
export function buildFrame(segment: string): Buffer {
  const data = Buffer.from(segment, 'utf8');
  if (data.length > 9999)
    throw new RangeError(`data segment of ${data.length} bytes does not fit the length field`);
  return Buffer.concat([
    Buffer.from(`##${String(data.length).padStart(4, '0')}`, 'latin1'),
    data,
    Buffer.from(`${crcToHex(hj212Crc16(data))}\r\n`, 'latin1'),
  ]);
}

/** HJ 212-2017 数据段结构组成, Flag (标志位): bits 2..7 hold the protocol version; 000001 is HJ 212-2017 (so Flag=4, or 5 with A). */
export const FLAG_VERSION_2017 = 0b100;

export interface SegmentInput {
  qn?: string;
  st: string;
  cn: string;
  pw: string;
  mn: string;
  flag?: number;
  pnum?: number;
  pno?: number;
  /** The CP body, without the surrounding `&&`. */
  cp: string;
}

/** HJ 212-2017 数据段结构组成 field order: QN, ST, CN, PW, MN, Flag, PNUM, PNO, CP. */
export function buildSegment(s: SegmentInput): string {
  let out = s.qn === undefined ? '' : `QN=${s.qn};`;
  out += `ST=${s.st};CN=${s.cn};PW=${s.pw};MN=${s.mn};`;
  if (s.flag !== undefined) out += `Flag=${s.flag};`;
  if (s.pnum !== undefined) out += `PNUM=${s.pnum};`;
  if (s.pno !== undefined) out += `PNO=${s.pno};`;
  return `${out}CP=&&${s.cp}&&`;
}

/** One pollutant's values for a CP: suffix (`Rtd`, `Avg`, `Min`, `Max`, `Flag`) -> value. */
export type CodeValues = Readonly<Record<string, string | number>>;

/** HJ 212-2017 指令参数 CP: `DataTime=…;code-Rtd=…,code-Flag=…;…` — one `;` group per code, items within by `,`. */
export function buildCp(dataTime: string, values: Readonly<Record<string, CodeValues>>): string {
  const groups = [`DataTime=${dataTime}`];
  for (const [code, perSuffix] of Object.entries(values)) {
    groups.push(
      Object.entries(perSuffix)
        .map(([suffix, v]) => `${code}-${suffix}=${v}`)
        .join(','),
    );
  }
  return groups.join(';');
}

export function wantsAnswer(flag: number | undefined): boolean {
  return flag !== undefined && (flag & FLAG_ANSWER) !== 0;
}
