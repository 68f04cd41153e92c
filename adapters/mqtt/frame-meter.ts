/**
 * Follows MQTT packet boundaries in a raw byte stream by reading only each fixed header, so a
 * packet whose declared Remaining Length exceeds a cap is caught before its body is buffered.
 * mqtt-packet (aedes' parser) has no size limit and would accumulate a 100 MB PUBLISH in memory.
 *
 * Fixed header: MQTT 3.1.1 §2.2 / MQTT 5.0 §2.1.1; Remaining Length is a variable byte integer of
 * at most four bytes (MQTT 3.1.1 §2.2.3, MQTT 5.0 §1.5.5).
 */

export const PUBLISH_PACKET_TYPE = 3;

export interface OversizePacket {
  /** MQTT control packet type (3 = PUBLISH). */
  type: number;
  /** Declared Remaining Length in bytes. */
  length: number;
  /** The PUBLISH topic when it was within the chunk that announced the packet, else ''. */
  topic: string;
}

type State = 'type' | 'length' | 'body' | 'off';

export class FrameMeter {
  private state: State = 'type';
  private type = 0;
  private length = 0;
  private multiplier = 1;
  private remaining = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Feed the next chunk; returns the first packet that is over the cap, if any. */
  feed(chunk: Buffer): OversizePacket | undefined {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'off':
          return undefined;
        case 'type':
          this.type = chunk[i]! >> 4;
          this.length = 0;
          this.multiplier = 1;
          this.state = 'length';
          i++;
          break;
        case 'length': {
          const b = chunk[i]!;
          i++;
          this.length += (b & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          if ((b & 0x80) === 0) {
            if (this.length > this.maxPacketBytes) {
              this.state = 'off';
              return { type: this.type, length: this.length, topic: this.publishTopic(chunk, i) };
            }
            this.remaining = this.length;
            this.state = this.length === 0 ? 'type' : 'body';
          } else if (this.multiplier === 128 ** 4) {
            // A fifth length byte: malformed; mqtt-packet reports it as a parse error; stop metering.
            this.state = 'off';
          }
          break;
        }
        case 'body': {
          const skip = Math.min(this.remaining, chunk.length - i);
          i += skip;
          this.remaining -= skip;
          if (this.remaining === 0) this.state = 'type';
          break;
        }
      }
    }
    return undefined;
  }

  /** PUBLISH variable header starts with the topic as a UTF-8 string with a 2-byte length (MQTT 3.1.1 §3.3.2.1). */
  private publishTopic(chunk: Buffer, at: number): string {
    if (this.type !== PUBLISH_PACKET_TYPE || at + 2 > chunk.length) return '';
    const len = chunk.readUInt16BE(at);
    return chunk.toString('utf8', at + 2, Math.min(at + 2 + len, chunk.length));
  }
}
