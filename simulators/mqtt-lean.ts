/**
 * The few MQTT 3.1.1 packets a sensor sends and receives, encoded and parsed by hand, for fleets of
 * thousands of simulated devices with one connection each. A full client (mqtt.js) keeps a store,
 * a parser, streams and timers per connection; a gauge that only connects, publishes and pings
 * needs none of that, and the load generator's own memory and CPU stay small beside the gateway's.
 * Packet layouts: OASIS MQTT 3.1.1 §2.2 (fixed header), §3.1 CONNECT, §3.2 CONNACK, §3.3 PUBLISH,
 * §3.4 PUBACK, §3.12 PINGREQ, §3.13 PINGRESP, §3.14 DISCONNECT.
 */

/** Control packet types, the high nibble of the first byte (§2.2.1). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

export interface ConnectFields {
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS: number;
  clean: boolean;
}

/** Remaining Length, 1-4 bytes of 7 bits each, least significant first (§2.2.3). */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A UTF-8 string with its 2-byte big-endian length prefix (§1.5.3). */
function utf8(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const len = Buffer.allocUnsafe(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
}

export function encodeConnect(f: ConnectFields): Buffer {
  // Protocol name "MQTT", level 4 = 3.1.1 (§3.1.2.1, §3.1.2.2).
  const header = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00]);
  let flags = f.clean ? 0x02 : 0;
  const payload = [utf8(f.clientId)];
  if (f.username !== undefined) {
    flags |= 0x80;
    payload.push(utf8(f.username));
    // A password without a user name is not allowed in 3.1.1 [MQTT-3.1.2-22].
    if (f.password !== undefined) {
      flags |= 0x40;
      payload.push(utf8(f.password));
    }
  }
  header[7] = flags;
  header.writeUInt16BE(f.keepaliveS, 8);
  const body = Buffer.concat([header, ...payload]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** PUBLISH at QoS 0 or 1 (packetId only at QoS 1), no DUP, no RETAIN. */
export function encodePublish(topic: string, payload: Buffer, qos: 0 | 1, packetId = 0): Buffer {
  const t = utf8(topic);
  const idLen = qos === 1 ? 2 : 0;
  const rl = remainingLength(t.length + idLen + payload.length);
  const out = Buffer.allocUnsafe(1 + rl.length + t.length + idLen + payload.length);
  let o = 0;
  out[o++] = 0x30 | (qos << 1);
  o += rl.copy(out, o);
  o += t.copy(out, o);
  if (qos === 1) o = out.writeUInt16BE(packetId, o);
  payload.copy(out, o);
  return out;
}

export interface Packet {
  type: number;
  /** The low nibble of the first byte. */
  flags: number;
  body: Buffer;
}

/** Largest packet a device expects from the broker; anything bigger is a protocol error here. */
const MAX_INBOUND = 64 * 1024;

/**
 * Splits a byte stream into packets. A device receives only CONNACK, PUBACK and PINGRESP (it
 * subscribes to nothing), so packets are tiny; a malformed length throws, and the caller drops the
 * connection as a real device would.
 */
export class PacketReader {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onPacket: (p: Packet) => void): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      let len = 0;
      let mul = 1;
      let i = 1;
      for (;;) {
        if (i >= b.length) return; // the length itself is not all here yet
        const byte = b[i] as number;
        len += (byte & 0x7f) * mul;
        i++;
        if ((byte & 0x80) === 0) break;
        mul *= 128;
        if (i > 4) throw new RangeError('malformed MQTT remaining length');
      }
      if (len > MAX_INBOUND) throw new RangeError(`MQTT packet of ${len} bytes from the broker`);
      if (b.length < i + len) return;
      const first = b[0] as number;
      onPacket({ type: first >> 4, flags: first & 0x0f, body: b.subarray(i, i + len) });
      this.#buf = b.subarray(i + len);
    }
  }
}
