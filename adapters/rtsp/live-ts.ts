/** MPEG-TS packet size and sync byte (ISO/IEC 13818-1 §2.4.3.2, transport_packet). */
export const TS_PACKET = 188;
export const TS_SYNC = 0x47;

/**
 * Cuts a byte stream into whole 188-byte transport packets, so every message a viewer gets starts
 * on a packet boundary (a viewer joining mid-stream starts clean). Bytes before the first sync
 * are dropped; sync is taken where two sync bytes sit one packet apart.
 */
export class TsPacketizer {
  private rest: Buffer = Buffer.alloc(0);

  /** Whole packets from the bytes so far, or undefined when there are none yet. */
  push(chunk: Buffer): Buffer | undefined {
    let buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    if (buf[0] !== TS_SYNC || (buf.length > TS_PACKET && buf[TS_PACKET] !== TS_SYNC)) {
      const at = findSync(buf);
      if (at < 0) {
        // Keep one packet's worth: the sync byte may be in it.
        this.rest = Buffer.from(buf.subarray(Math.max(0, buf.length - TS_PACKET)));
        return undefined;
      }
      buf = buf.subarray(at);
    }
    const whole = buf.length - (buf.length % TS_PACKET);
    this.rest = Buffer.from(buf.subarray(whole));
    return whole > 0 ? buf.subarray(0, whole) : undefined;
  }

  reset(): void {
    this.rest = Buffer.alloc(0);
  }
}

function findSync(buf: Buffer): number {
  for (let i = buf.indexOf(TS_SYNC); i >= 0; i = buf.indexOf(TS_SYNC, i + 1)) {
    if (i + TS_PACKET >= buf.length) return -1;
    if (buf[i + TS_PACKET] === TS_SYNC) return i;
  }
  return -1;
}
