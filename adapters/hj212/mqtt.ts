import type { Rejection } from '../../processors/errors.js';
import { Hj212Deframer } from '../../processors/hj212/deframer.js';
import type { QnWindow } from '../../processors/hj212/qn-window.js';
import type { InboundMessage } from '../../processors/types.js';
import { type Hj212Lookup, handleItem } from './ingest.js';

/**
 * HJ 212 frames carried as MQTT payloads (a DTU publishing the station's TCP stream on e.g.
 * `hj212/{MN}`). One payload may hold one or several whole frames; a frame split across two
 * payloads is not reassembled (each payload is deframed on its own), since MQTT already delivers
 * whole messages and a DTU that splits frames would also reorder them across QoS retries. For the
 * same reason the end of the payload ends its last frame: a frame without its CR LF is accepted
 * when its length and CRC agree.
 */

export interface Hj212MqttOptions {
  lookup: Hj212Lookup;
  /** Largest data segment accepted (HJ 212-2017 通讯包结构组成: 1024). */
  maxDataLength?: number;
  /**
   * The MN the topic belongs to (`hj212/{mn}`): the topic ACL is what authenticated the DTU, so
   * a frame carrying any other MN is refused, whatever that station's password.
   */
  mn?: string;
  /** The topic the payload came on, kept with an unregistered MN. */
  topic?: string;
  /** Requests already taken; a resent one is answered again but not passed on. */
  requests?: QnWindow;
}

export interface Hj212MqttResult {
  messages: InboundMessage[];
  rejections: Rejection[];
  /** 9014 responses for frames whose Flag asked for one; the caller may publish them back to the DTU. */
  responses: { mn: string; frame: Buffer }[];
  /** Resent requests (same MN, QN, CN): answered, not in `messages`. */
  duplicates: number;
  /** DataTime minus receive time of each real-time frame, for the clock check. */
  skews: { mn: string; deviceId: string; skewMs: number }[];
}

export function hj212FromMqtt(payload: Buffer, receivedAt: number, opts: Hj212MqttOptions): Hj212MqttResult {
  const out: Hj212MqttResult = { messages: [], rejections: [], responses: [], duplicates: 0, skews: [] };
  const d = new Hj212Deframer(opts.maxDataLength === undefined ? {} : { maxDataLength: opts.maxDataLength });
  const own = opts.mn;
  const lookup: Hj212Lookup =
    own === undefined ? opts.lookup : (mn, from) => (mn === own ? opts.lookup(mn, from) : undefined);
  const from = opts.topic === undefined ? {} : { topic: opts.topic };
  let deviceId: string | undefined;
  for (const item of [...d.push(payload), ...d.endOfMessage()]) {
    const r = handleItem(item, receivedAt, lookup, {
      ...(deviceId === undefined ? {} : { knownDeviceId: deviceId }),
      from,
      ...(opts.requests ? { requests: opts.requests } : {}),
    });
    if (r.kind === 'message') {
      deviceId = r.message.deviceId;
      out.messages.push(r.message);
      if (r.response) out.responses.push({ mn: r.mn, frame: r.response });
      if (r.skewMs !== undefined) out.skews.push({ mn: r.mn, deviceId, skewMs: r.skewMs });
    } else if (r.kind === 'duplicate') {
      deviceId = r.deviceId;
      out.duplicates++;
      if (r.response) out.responses.push({ mn: r.mn, frame: r.response });
    } else if (r.kind === 'reject') {
      const foreign = own !== undefined && r.mn !== undefined && r.mn !== own;
      out.rejections.push(
        foreign
          ? { ...r.rejection, detail: `frame MN ${r.mn} does not match the topic's MN ${own}; refused` }
          : r.rejection,
      );
    } else {
      deviceId = r.deviceId;
    }
  }
  return out;
}
