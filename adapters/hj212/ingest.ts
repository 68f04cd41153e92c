import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { previewPayload } from '../../processors/deadletters.js';
import { HJ212_DATA_CNS } from '../../processors/decode/hj212.js';
import type { Rejection, RejectReason } from '../../processors/errors.js';
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
 * The one home of HJ 212 ingest, whatever carries the frames: `hj212Ingest(deps)` binds the edge to
 * the registry (MN -> device, PW), the rate limit and the pipeline, and both transports
 * (`Hj212Server` in tcp-server.ts, `Hj212OverMqtt` below) run each deframed item through
 * `handleItem`.
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

/** One stream of frames: a TCP connection, or the frames of one MQTT payload. */
export interface Hj212Stream {
  readonly from: Hj212Origin;
  /** Requests already taken; a resent one is acknowledged again but not passed on. */
  readonly requests: QnWindow;
  /** The device the stream last proved to be: rejects of frames that cannot say who sent them carry it. */
  deviceId?: string;
}

export type FrameOutcome =
  | {
      kind: 'message';
      message: InboundMessage;
      mn: string;
      response: Buffer | undefined;
      /** DataTime minus receive time of real-time data (CN 2011), ms: how far off the station's clock is. */
      skewMs: number | undefined;
    }
  /** A resend of a request already taken (same MN, QN, CN): answered again, not stored again. */
  | { kind: 'duplicate'; deviceId: string; qn: string; response: Buffer | undefined }
  | { kind: 'reject'; rejection: Rejection; mn?: string }
  /** A frame from a known device that carries no monitoring data (heartbeat 9015/9021, responses, notices). */
  | { kind: 'other'; deviceId: string };

/**
 * Takes one deframed item of the stream: authenticates it by MN and PW, turns monitoring data into
 * an InboundMessage and says whether to answer with 9014. A frame that proves its device makes it
 * the stream's.
 */
export function handleItem(
  item: DeframeItem,
  receivedAt: number,
  lookup: Hj212Lookup,
  stream: Hj212Stream,
): FrameOutcome {
  const reject = (
    reason: RejectReason,
    detail: string,
    more: Partial<Rejection>,
    mn?: string,
  ): FrameOutcome => ({
    kind: 'reject',
    mn,
    rejection: { reason, at: receivedAt, transport: 'hj212', detail, ...more },
  });
  if (item.kind === 'error') {
    const preview = previewPayload(item.bytes);
    return reject(item.reason, item.detail, { deviceId: stream.deviceId, payloadPreview: preview });
  }
  const parsed = parseDataSegment(item.data.toString('latin1'));
  if (!parsed.ok) {
    const preview = previewPayload(item.data);
    return reject('malformed', parsed.detail, { deviceId: stream.deviceId, payloadPreview: preview });
  }
  const p = parsed.packet;
  const topic = `hj212/${p.mn}/${p.cn}`;
  const reg = lookup(p.mn, stream.from);
  if (!reg) {
    const more = { topic, payloadPreview: previewPayload(item.data) };
    return reject('unknown_device', `MN ${p.mn} is not registered`, more, p.mn);
  }
  if (reg.password !== undefined && !samePassword(p.pw, reg.password)) {
    // Never echo the PW that was tried: dead letters are readable by installers.
    const detail = `PW does not match the registered password of MN ${p.mn}; frame refused`;
    return reject('bad_password', detail, { deviceId: reg.deviceId, topic }, p.mn);
  }
  stream.deviceId = reg.deviceId;
  if (!HJ212_DATA_CNS[p.cn]) return { kind: 'other', deviceId: reg.deviceId };
  // HJ 212-2017 Flag bit A (应答标志): the station waits for 9014 and resends without it.
  const response = wantsAnswer(p.flag) ? dataResponse(p) : undefined;
  if (stream.requests.seen(p) && p.qn !== undefined) {
    // The resend says our 9014 was lost: answer again so the station stops resending.
    return { kind: 'duplicate', deviceId: reg.deviceId, qn: p.qn, response };
  }
  const message: InboundMessage = {
    transport: 'hj212',
    kind: 'telemetry',
    deviceId: reg.deviceId,
    topic,
    payload: item.data,
    receivedAt,
  };
  return { kind: 'message', message, mn: p.mn, response, skewMs: dataTimeSkewMs(p, receivedAt) };
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
  running: () => boolean;
  /** Unregistered MNs that sent frames, with where they came from, for `gridgate devices unknown`. */
  unknown?: { record(e: { transport: 'hj212'; id: string; topic?: string; remote?: string }): void };
  /** Resolves once the readings handed to the pipeline so far are durable; 9014 waits for it. */
  settled: () => Promise<void>;
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
      if (!d) deps.unknown?.record({ transport: 'hj212', id: mn, ...from });
      return !d || d.state === 'retired' ? undefined : { deviceId: d.id, password: d.hj212?.password };
    },
    onMessage: (msg) => {
      if (deps.admit(msg)) deps.pipeline.handle(msg);
    },
    settled: deps.settled,
    onReject: (r) => deps.rejects.reject(r),
    onStatus: (deviceId, online) => {
      if (deps.running()) deps.pipeline.connectivity(deviceId, online);
    },
  };
}

/**
 * The MQTT transport (`hj212.mqttTopic`, default `hj212/{mn}`): the topic routes as a telemetry
 * message of the MN, and the payload is deframed, CRC-checked and PW-checked exactly like a TCP
 * frame. A frame must carry the topic's own MN (the topic ACL is what authenticated the DTU), and
 * each frame counts against the device's rate limit. 9014 responses go back on `<topic>/response`.
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
    this.clockSkew = new ClockSkewWarnings(logger.child({ component: 'hj212-mqtt' }));
  }

  /** The MN a topic carries, when it is an HJ 212 topic. */
  match(topic: string): { deviceId: string; kind: MessageKind } | undefined {
    if (!topic.startsWith(this.prefix) || !topic.endsWith(this.suffix)) return undefined;
    const mn = topic.slice(this.prefix.length, topic.length - this.suffix.length);
    // HJ 212-2017 §6.3.2: MN is up to 24 characters.
    return mn.length > 0 && mn.length <= 24 && !mn.includes('/')
      ? { deviceId: mn, kind: 'telemetry' }
      : undefined;
  }

  /**
   * The payload's frames, deframed on their own: MQTT delivers whole messages, and a DTU that split
   * frames across payloads would also reorder them across QoS retries. For the same reason the end
   * of the payload ends its last frame: a frame without its CR LF is taken when its length and CRC
   * agree.
   */
  handle(msg: InboundMessage): void {
    const own = this.match(msg.topic)?.deviceId;
    const lookup: Hj212Lookup = (mn, from) => (mn === own ? this.ingest.lookup(mn, from) : undefined);
    const stream: Hj212Stream = { from: { topic: msg.topic }, requests: this.requests };
    const deframer = new Hj212Deframer();
    for (const item of [...deframer.push(msg.payload), ...deframer.endOfMessage()]) {
      const r = handleItem(item, msg.receivedAt, lookup, stream);
      if (r.kind === 'reject') {
        const foreign = r.mn !== undefined && r.mn !== own;
        const detail = foreign
          ? `frame MN ${r.mn} does not match the topic's MN ${own}; refused`
          : r.rejection.detail;
        this.ingest.onReject({ ...r.rejection, topic: msg.topic, detail });
        continue;
      }
      if (r.kind === 'other') continue;
      if (r.kind === 'message') {
        this.ingest.onMessage(r.message);
        if (r.skewMs !== undefined)
          this.clockSkew.observe(r.mn, r.message.deviceId, r.skewMs, msg.receivedAt);
      }
      const response = r.response;
      if (response)
        void this.ingest
          .settled()
          .then(() => this.publish(`${msg.topic}/response`, response))
          .catch(() => undefined);
    }
  }
}
