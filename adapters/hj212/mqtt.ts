import type { Rejection } from '../../processors/errors.js';
import { Hj212Deframer } from '../../processors/hj212/deframer.js';
import type { InboundMessage } from '../../processors/types.js';
import { type Hj212Lookup, handleItem } from './ingest.js';

/**
 * HJ 212 frames carried as MQTT payloads (a DTU publishing the station's TCP stream on e.g.
 * `hj212/{MN}`). One payload may hold one or several whole frames; a frame split across two
 * payloads is not reassembled (each payload is deframed on its own), since MQTT already delivers
 * whole messages and a DTU that splits frames would also reorder them across QoS retries.
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
}

export interface Hj212MqttResult {
  messages: InboundMessage[];
  rejections: Rejection[];
  /** 9014 responses for frames whose Flag asked for one; the caller may publish them back to the DTU. */
  responses: { mn: string; frame: Buffer }[];
}

export function hj212FromMqtt(payload: Buffer, receivedAt: number, opts: Hj212MqttOptions): Hj212MqttResult {
  const out: Hj212MqttResult = { messages: [], rejections: [], responses: [] };
  const d = new Hj212Deframer(opts.maxDataLength === undefined ? {} : { maxDataLength: opts.maxDataLength });
  const own = opts.mn;
  const lookup: Hj212Lookup =
    own === undefined ? opts.lookup : (mn) => (mn === own ? opts.lookup(mn) : undefined);
  let deviceId: string | undefined;
  for (const item of [...d.push(payload), ...d.end()]) {
    const r = handleItem(item, receivedAt, lookup, deviceId);
    if (r.kind === 'message') {
      deviceId = r.message.deviceId;
      out.messages.push(r.message);
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
