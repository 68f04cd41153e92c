import { parseLocalCompact } from '../time.js';
import type { Hj212Packet } from './parse.js';

/** HJ 212-2017 命令编码 2011: real-time data (实时数据), whose DataTime is when it was measured. */
const CN_REALTIME = '2011';

/**
 * How far a station's clock is from the gateway's, from one frame: DataTime (HJ 212-2017 指令参数 CP,
 * yyyyMMddHHmmss in China Standard Time, UTC+8) minus the receive time, in ms; positive when the
 * station is ahead. Only real-time data (CN 2011) says anything about the clock: minute, hour and
 * day statistics carry the start of their period, hours before they are sent. Undefined when the
 * frame is not real-time data or has no readable DataTime.
 */
export function dataTimeSkewMs(p: Pick<Hj212Packet, 'cn' | 'cp'>, receivedAt: number): number | undefined {
  if (p.cn !== CN_REALTIME || p.cp.dataTime === undefined) return undefined;
  const t = parseLocalCompact(p.cp.dataTime);
  return t === undefined ? undefined : t - receivedAt;
}
