import type { Logger } from 'pino';
import { ClockSkewWarnings } from '../adapters/hj212/clock-skew.js';
import type { Hj212Lookup } from '../adapters/hj212/ingest.js';
import { hj212FromMqtt } from '../adapters/hj212/mqtt.js';
import type { RejectSink } from '../processors/errors.js';
import { QnWindow } from '../processors/hj212/qn-window.js';
import type { Pipeline } from '../processors/pipeline.js';
import type { DeviceReader } from '../processors/registry/types.js';
import type { InboundMessage, MessageKind } from '../processors/types.js';

export interface Hj212IngestDeps {
  registry: DeviceReader;
  pipeline: Pipeline;
  rejects: RejectSink;
  /** Per-device rate limit, per frame (a frame is a message). */
  admit: (msg: InboundMessage) => boolean;
  /** False while the gateway stops: closing every connection is not every station going offline. */
  running?: () => boolean;
  /** Unregistered MNs that sent frames, with where they came from, for `gridgate devices unknown`. */
  unknown?: { record(e: { transport: 'hj212'; id: string; topic?: string; remote?: string }): void };
  /** For warnings about stations whose clock is off (frames over MQTT; the TCP listener has its own). */
  logger?: Logger;
}

export type Hj212Ingest = ReturnType<typeof hj212Ingest>;

/** Binds the HJ 212 edge to the registry (MN -> device, PW), the rate limit and the pipeline. */
export function hj212Ingest(deps: Hj212IngestDeps) {
  const lookup: Hj212Lookup = (mn, from) => {
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
  };
  return {
    lookup,
    clockSkew: deps.logger
      ? new ClockSkewWarnings({ logger: deps.logger.child({ component: 'hj212-mqtt' }) })
      : undefined,
    onMessage: (msg: InboundMessage) => {
      if (deps.admit(msg)) deps.pipeline.handle(msg);
    },
    onReject: (r: Parameters<RejectSink['reject']>[0]) => deps.rejects.reject(r),
    onStatus: (deviceId: string, online: boolean) => {
      if (deps.running?.() ?? true) deps.pipeline.connectivity(deviceId, online);
    },
  };
}

/**
 * HJ 212 frames that DTUs publish over MQTT (`hj212.mqttTopic`, default `hj212/{mn}`): the topic
 * routes as a telemetry message of the MN, and the payload is deframed, CRC-checked and
 * PW-checked exactly like a TCP frame. A frame must carry the topic's own MN (the topic ACL is
 * what authenticated the DTU), and each frame counts against the device's rate limit. 9014
 * responses go back on `<topic>/response`.
 */
export class Hj212OverMqtt {
  private readonly prefix: string;
  private readonly suffix: string;
  /** Resent requests are answered but not stored twice; bounded per MN and in MNs. */
  private readonly requests = new QnWindow();

  constructor(
    pattern: string,
    private readonly ingest: Hj212Ingest,
    private readonly publish: (topic: string, payload: Buffer) => Promise<void>,
  ) {
    const at = pattern.indexOf('{mn}');
    this.prefix = pattern.slice(0, at);
    this.suffix = pattern.slice(at + '{mn}'.length);
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
    for (const s of out.skews) this.ingest.clockSkew?.observe(s.mn, s.deviceId, s.skewMs, msg.receivedAt);
    for (const r of out.responses) void this.publish(`${msg.topic}/response`, r.frame).catch(() => undefined);
  }
}
