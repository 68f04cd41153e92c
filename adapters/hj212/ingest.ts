import { timingSafeEqual } from 'node:crypto';
import { previewPayload } from '../../processors/deadletters.js';
import { HJ212_DATA_CNS } from '../../processors/decode/hj212.js';
import type { Rejection } from '../../processors/errors.js';
import { dataTimeSkewMs } from '../../processors/hj212/clock.js';
import type { DeframeItem } from '../../processors/hj212/deframer.js';
import { wantsAnswer } from '../../processors/hj212/frame.js';
import { parseDataSegment } from '../../processors/hj212/parse.js';
import type { QnWindow } from '../../processors/hj212/qn-window.js';
import { dataResponse } from '../../processors/hj212/respond.js';
import type { InboundMessage } from '../../processors/types.js';

/**
 * What the HJ 212 edge does with one deframed item, whatever carried it (TCP or an MQTT payload):
 * authenticate the frame by MN and PW, turn monitoring data into an InboundMessage for the
 * pipeline, and say whether to answer with 9014. Everything else becomes a Rejection.
 */

export interface Hj212Registration {
  deviceId: string;
  /** The station's PW (HJ 212-2017 数据段结构组成, 访问密码). Absent: any PW is accepted. */
  password?: string;
}

/** Where a frame came from, so an unregistered MN can be listed with it. */
export interface Hj212Origin {
  /** `address:port` of the TCP connection. */
  remote?: string;
  /** The MQTT topic a DTU published the frame on. */
  topic?: string;
}

/** Device registry lookup by MN (HJ 212-2017 数据段结构组成, 设备唯一标识). */
export type Hj212Lookup = (mn: string, from?: Hj212Origin) => Hj212Registration | undefined;

export interface HandleOptions {
  /** The device this stream already identified as, for rejects of frames that cannot say who sent them (bad CRC, garbage). */
  knownDeviceId?: string;
  from?: Hj212Origin;
  /** Requests already taken; a resent one is acknowledged again but not passed on. */
  requests?: QnWindow;
}

export type FrameOutcome =
  | {
      kind: 'message';
      message: InboundMessage;
      mn: string;
      response?: Buffer;
      /** DataTime minus receive time of real-time data (CN 2011), ms: how far off the station's clock is. */
      skewMs?: number;
    }
  /** A resend of a request already taken (same MN, QN, CN): answered again, not stored again. */
  | { kind: 'duplicate'; deviceId: string; mn: string; qn: string; response?: Buffer }
  | { kind: 'reject'; rejection: Rejection; mn?: string }
  /** A frame from a known device that carries no monitoring data (heartbeat 9015/9021, responses, notices). */
  | { kind: 'other'; deviceId: string; mn: string; cn: string };

export const TRANSPORT = 'hj212';

export function topicFor(mn: string, cn: string): string {
  return `hj212/${mn}/${cn}`;
}

export function handleItem(
  item: DeframeItem,
  receivedAt: number,
  lookup: Hj212Lookup,
  opts: HandleOptions = {},
): FrameOutcome {
  const knownDeviceId = opts.knownDeviceId;
  if (item.kind === 'error') {
    return {
      kind: 'reject',
      rejection: {
        reason: item.reason,
        at: receivedAt,
        transport: TRANSPORT,
        ...(knownDeviceId ? { deviceId: knownDeviceId } : {}),
        detail: item.detail,
        payloadPreview: previewPayload(item.bytes),
      },
    };
  }
  const text = item.data.toString('latin1');
  const parsed = parseDataSegment(text);
  if (!parsed.ok) {
    return {
      kind: 'reject',
      rejection: {
        reason: 'malformed',
        at: receivedAt,
        transport: TRANSPORT,
        ...(knownDeviceId ? { deviceId: knownDeviceId } : {}),
        detail: parsed.detail,
        payloadPreview: previewPayload(item.data),
      },
    };
  }
  const p = parsed.packet;
  const topic = topicFor(p.mn, p.cn);
  const reg = lookup(p.mn, opts.from);
  if (!reg) {
    return {
      kind: 'reject',
      mn: p.mn,
      rejection: {
        reason: 'unknown_device',
        at: receivedAt,
        transport: TRANSPORT,
        topic,
        detail: `MN ${p.mn} is not registered`,
        payloadPreview: previewPayload(item.data),
      },
    };
  }
  if (reg.password !== undefined && !samePassword(p.pw, reg.password)) {
    return {
      kind: 'reject',
      mn: p.mn,
      rejection: {
        reason: 'bad_password',
        at: receivedAt,
        transport: TRANSPORT,
        deviceId: reg.deviceId,
        topic,
        // Never echo the PW that was tried: dead letters are readable by installers.
        detail: `PW does not match the registered password of MN ${p.mn}; frame refused`,
      },
    };
  }
  if (!HJ212_DATA_CNS[p.cn]) return { kind: 'other', deviceId: reg.deviceId, mn: p.mn, cn: p.cn };
  // HJ 212-2017 Flag bit A (应答标志): the station waits for 9014 and resends without it.
  const response = wantsAnswer(p.flag) ? dataResponse(p) : undefined;
  if (opts.requests?.seen(p) && p.qn !== undefined) {
    // The resend says our 9014 was lost: answer again so the station stops resending.
    return response
      ? { kind: 'duplicate', deviceId: reg.deviceId, mn: p.mn, qn: p.qn, response }
      : { kind: 'duplicate', deviceId: reg.deviceId, mn: p.mn, qn: p.qn };
  }
  const message: InboundMessage = {
    transport: TRANSPORT,
    kind: 'telemetry',
    deviceId: reg.deviceId,
    topic,
    payload: item.data,
    receivedAt,
  };
  const out: Extract<FrameOutcome, { kind: 'message' }> = { kind: 'message', message, mn: p.mn };
  if (response) out.response = response;
  const skewMs = dataTimeSkewMs(p, receivedAt);
  if (skewMs !== undefined) out.skewMs = skewMs;
  return out;
}

function samePassword(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '', 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
