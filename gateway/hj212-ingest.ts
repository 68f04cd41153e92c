import type { Hj212Lookup } from '../adapters/hj212/ingest.js';
import { hj212FromMqtt } from '../adapters/hj212/mqtt.js';
import type { RejectSink } from '../processors/errors.js';
import type { Pipeline } from '../processors/pipeline.js';
import type { DeviceReader } from '../processors/registry/types.js';
import type { InboundMessage, MessageKind } from '../processors/types.js';

/** Binds the HJ 212 edge to the registry (MN -> device, PW) and to the pipeline. */
export function hj212Ingest(
  registry: DeviceReader,
  pipeline: Pipeline,
  rejects: RejectSink,
  admit: (msg: InboundMessage) => boolean = () => true,
) {
  const lookup: Hj212Lookup = (mn) => {
    const d = registry.byHj212Mn(mn);
    if (!d || d.state === 'retired') return undefined;
    return d.hj212?.password === undefined
      ? { deviceId: d.id }
      : { deviceId: d.id, password: d.hj212.password };
  };
  return {
    lookup,
    onMessage: (msg: InboundMessage) => {
      if (admit(msg)) pipeline.handle(msg);
    },
    onReject: (r: Parameters<RejectSink['reject']>[0]) => rejects.reject(r),
    onStatus: (deviceId: string, online: boolean) => pipeline.connectivity(deviceId, online),
  };
}

/**
 * HJ 212 frames that DTUs publish over MQTT (`hj212.mqttTopic`, default `hj212/{mn}`): the topic
 * routes as a telemetry message of the MN, and the payload is deframed, CRC-checked and
 * PW-checked exactly like a TCP frame. 9014 responses go back on `<topic>/response`.
 */
export class Hj212OverMqtt {
  private readonly prefix: string;
  private readonly suffix: string;

  constructor(
    pattern: string,
    private readonly ingest: ReturnType<typeof hj212Ingest>,
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
    const out = hj212FromMqtt(msg.payload, msg.receivedAt, { lookup: this.ingest.lookup });
    for (const r of out.rejections) this.ingest.onReject({ ...r, topic: msg.topic });
    for (const m of out.messages) this.ingest.onMessage(m);
    for (const r of out.responses) void this.publish(`${msg.topic}/response`, r.frame).catch(() => undefined);
  }
}
