import type { Hj212Packet } from './parse.js';

/**
 * Recently seen requests per station, to recognise a resend. HJ 212-2017 数据段结构组成: QN
 * (请求编码, yyyyMMddHHmmssSSS) identifies one request of one station; a station that misses the
 * platform's 9014 sends the same request again with the same QN (HJ 212-2017 通讯流程: 超时重发,
 * resent after the response timeout up to the retry count). So
 * (MN, QN) seen before is the same reading, not a new one. CN and PNO are part of the key because
 * stations that stamp QN from DataTime send 2011 and 2051 in the same millisecond, and every packet
 * of a split command (Flag bit D) carries the command's QN.
 *
 * Bounded: `perMn` keys per station (oldest forgotten first) and `maxStations` stations (the least
 * recently heard forgotten first), so a flood of made-up MNs or QNs costs a fixed amount of memory.
 */
export interface QnWindowOptions {
  /** Requests remembered per station. Default 64 (an hour of one-minute data plus its statistics). */
  perMn?: number;
  /** Stations remembered. Default 10 000. */
  maxStations?: number;
}

export class QnWindow {
  readonly #perMn: number;
  readonly #maxStations: number;
  /** MN -> keys in arrival order; Map order doubles as the stations' recency order. */
  readonly #byMn = new Map<string, Set<string>>();

  constructor(opts: QnWindowOptions = {}) {
    this.#perMn = Math.max(1, opts.perMn ?? 64);
    this.#maxStations = Math.max(1, opts.maxStations ?? 10_000);
  }

  /**
   * Records the packet's request; true when it was already recorded (a resend). Packets without a
   * QN (HJ/T 212-2005 uploads) cannot be told apart and are never duplicates.
   */
  seen(p: Pick<Hj212Packet, 'mn' | 'qn' | 'cn' | 'pno'>): boolean {
    if (p.qn === undefined || p.qn === '') return false;
    const key = p.pno === undefined ? `${p.cn}|${p.qn}` : `${p.cn}|${p.qn}|${p.pno}`;
    let keys = this.#byMn.get(p.mn);
    if (keys) {
      this.#byMn.delete(p.mn);
      this.#byMn.set(p.mn, keys);
      if (keys.has(key)) return true;
    } else {
      if (this.#byMn.size >= this.#maxStations) {
        const oldest = this.#byMn.keys().next().value;
        if (oldest !== undefined) this.#byMn.delete(oldest);
      }
      keys = new Set();
      this.#byMn.set(p.mn, keys);
    }
    keys.add(key);
    if (keys.size > this.#perMn) {
      const oldest = keys.values().next().value;
      if (oldest !== undefined) keys.delete(oldest);
    }
    return false;
  }

  /** Stations currently remembered. */
  get stations(): number {
    return this.#byMn.size;
  }
}
