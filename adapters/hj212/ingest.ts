import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { previewPayload } from '../../processors/deadletters.js';
import { HJ212_DATA_CNS } from '../../processors/decode/hj212.js';
import type { Rejection } from '../../processors/errors.js';
import { dataTimeSkewMs } from '../../processors/hj212/clock.js';
import { type DeframeItem, Hj212Deframer } from '../../processors/hj212/deframer.js';
import { wantsAnswer } from '../../processors/hj212/frame.js';
import { parseDataSegment } from '../../processors/hj212/parse.js';
import { QnWindow } from '../../processors/hj212/qn-window.js';
import { dataResponse } from '../../processors/hj212/respond.js';
import type { DeviceReader } from '../../processors/registry/types.js';
import type { InboundMessage, MessageKind } from '../../processors/types.js';
import { ClockSkewWarnings } from './clock-skew.js';

/**
 * The one home of HJ 212 ingest, whatever carries the frames:
 * - `hj212Ingest(deps)` binds the edge to the registry (MN -> device, PW), the rate limit and the
 *   pipeline; both transports take what it returns.
 * - TCP: `Hj212Server` (tcp-server.ts) is handed `hj212Ingest(deps)`.
 * - MQTT: `Hj212OverMqtt` (below) is handed the same.
 * Both run each deframed item through `handleItem`: authenticate the frame by MN and PW, turn
 * monitoring data into an InboundMessage for the pipeline, and say whether to answer with 9014.
 * Everything else becomes a Rejection.
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

/** What the HJ 212 edge needs of the gateway. */
export interface Hj212IngestDeps {
  registry: Pick<DeviceReader, 'byHj212Mn'>;
  pipeline: {
    handle(msg: InboundMessage): void;
    connectivity(deviceId: string, online: boolean, at?: number): void;
  };
  rejects: { reject(r: Rejection): void };
  /** Per-device rate limit, per frame (a frame is a message). */
  admit: (msg: InboundMessage) => boolean;
  /** False while the gateway stops: closing every connection is not every station going offline. */
  running?: () => boolean;
  /** Unregistered MNs that sent frames, with where they came from, for `gridgate devices unknown`. */
  unknown?: { record(e: { transport: 'hj212'; id: string; topic?: string; remote?: string }): void };
  /** Resolves once the readings handed to the pipeline so far are durable; 9014 waits for it. */
  settled?: () => Promise<void>;
}

/** What either transport hands frames, rejects and station status to. */
export interface Hj212Ingest {
  lookup: Hj212Lookup;
  onMessage(msg: InboundMessage): void;
  /** Resolves once what onMessage was given so far is durable; a 9014 is sent after it. */
  settled(): Promise<void>;
  onReject(r: Rejection): void;
  onStatus(deviceId: string, online: boolean): void;
}

export function hj212Ingest(deps: Hj212IngestDeps): Hj212Ingest {
  return {
    lookup: (mn, from) => {
      const d = deps.registry.byHj212Mn(mn);
      if (!d) {
        deps.unknown?.record({
          transport: 'hj212',
          id: mn,
          ...(from?.topic === undefined ? {} : { topic: from.topic }),
          ...(from?.remote === undefined ? {} : { remote: from.remote }),
        });
        return undefined;
      }
      if (d.state === 'retired') return undefined;
      return d.hj212?.password === undefined
        ? { deviceId: d.id }
        : { deviceId: d.id, password: d.hj212.password };
    },
    onMessage: (msg) => {
      if (deps.admit(msg)) deps.pipeline.handle(msg);
    },
    settled: deps.settled ?? (() => Promise.resolve()),
    onReject: (r) => deps.rejects.reject(r),
    onStatus: (deviceId, online) => {
      if (deps.running?.() ?? true) deps.pipeline.connectivity(deviceId, online);
    },
  };
}

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

/**
 * HJ 212 frames carried as one MQTT payload (a DTU publishing the station's TCP stream on e.g.
 * `hj212/{MN}`). One payload may hold one or several whole frames; a frame split across two
 * payloads is not reassembled (each payload is deframed on its own), since MQTT already delivers
 * whole messages and a DTU that splits frames would also reorder them across QoS retries. For the
 * same reason the end of the payload ends its last frame: a frame without its CR LF is accepted
 * when its length and CRC agree.
 */
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

/**
 * The MQTT transport (`hj212.mqttTopic`, default `hj212/{mn}`): the topic routes as a telemetry
 * message of the MN, and the payload is deframed, CRC-checked and PW-checked exactly like a TCP
 * frame (hj212FromMqtt). A frame must carry the topic's own MN (the topic ACL is what authenticated
 * the DTU), and each frame counts against the device's rate limit. 9014 responses go back on
 * `<topic>/response`.
 */
export class Hj212OverMqtt {
  private readonly prefix: string;
  private readonly suffix: string;
  /** Resent requests are answered but not stored twice; bounded per MN and in MNs. */
  private readonly requests = new QnWindow();
  private readonly clockSkew: ClockSkewWarnings;

  constructor(
    pattern: string,
    private readonly ingest: Hj212Ingest,
    private readonly publish: (topic: string, payload: Buffer) => Promise<void>,
    logger: Logger,
  ) {
    const at = pattern.indexOf('{mn}');
    this.prefix = pattern.slice(0, at);
    this.suffix = pattern.slice(at + '{mn}'.length);
    this.clockSkew = new ClockSkewWarnings({ logger: logger.child({ component: 'hj212-mqtt' }) });
  }

  /** The MN a topic carries, when it is an HJ 212 topic. */
  match(topic: string): { deviceId: string; kind: MessageKind } | undefined {
    if (!topic.startsWith(this.prefix) || !topic.endsWith(this.suffix)) return undefined;
    const mn = topic.slice(this.prefix.length, topic.length - this.suffix.length);
    return mn.length > 0 && mn.length <= 24 && !mn.includes('/')
      ? { deviceId: mn, kind: 'telemetry' }
      : undefined;
  }

  handle(msg: InboundMessage): void {
    const out = hj212FromMqtt(msg.payload, msg.receivedAt, {
      lookup: this.ingest.lookup,
      mn: this.match(msg.topic)?.deviceId,
      topic: msg.topic,
      requests: this.requests,
    });
    for (const r of out.rejections) this.ingest.onReject({ ...r, topic: msg.topic });
    for (const m of out.messages) this.ingest.onMessage(m);
    for (const s of out.skews) this.clockSkew.observe(s.mn, s.deviceId, s.skewMs, msg.receivedAt);
    for (const r of out.responses)
      void this.ingest
        .settled()
        .then(() => this.publish(`${msg.topic}/response`, r.frame))
        .catch(() => undefined);
  }
}
