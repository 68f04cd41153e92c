import type { Logger } from 'pino';
import { LogThrottle, previewPayload, zeroCounts } from './deadletters.js';
import { createDecoders } from './decode/index.js';
import { DEFAULT_MAX_DEPTH } from './decode/json.js';
import type { DecodeContext, DecodeReject, DecodeResult, FormatDecoder } from './decode/types.js';
import type { DeviceModel, WireFormat } from './devices/define.js';
import type { Rejection, RejectReason, RejectSink } from './errors.js';
import { calibrate } from './registry/calibration.js';
import { connectivityReading, decodeStatus } from './status.js';
import { baseTags } from './tags.js';
import {
  type Clock,
  type Device,
  type DeviceDirectory,
  type InboundMessage,
  type Reading,
  type ReadingSink,
  systemClock,
  type Transport,
} from './types.js';

/**
 * The ingest stream: size limit -> device -> model -> decoder -> time sanity -> sinks. Every
 * failure becomes a counted, dead-lettered rejection and the stream goes on; handle() never throws.
 */

export interface PipelineLimits {
  /** Larger payloads are rejected before decoding. Default 256 KiB. */
  maxPayloadBytes: number;
  /** Deepest JSON nesting. Default 32. */
  maxDepth: number;
  /** How far ahead of the gateway clock a device timestamp may be. Default 5 min. */
  maxFutureSkewMs: number;
  /** How old a device timestamp may be. Default 7 days. */
  maxAgeMs: number;
}

export const DEFAULT_LIMITS: Readonly<PipelineLimits> = Object.freeze({
  maxPayloadBytes: 256 * 1024,
  maxDepth: DEFAULT_MAX_DEPTH,
  maxFutureSkewMs: 5 * 60_000,
  maxAgeMs: 7 * 86_400_000,
});

export interface PipelineOptions {
  devices: DeviceDirectory;
  models: { get(id: string): DeviceModel | undefined };
  sinks: ReadingSink[];
  rejects: RejectSink;
  clock?: Clock;
  limits?: Partial<PipelineLimits>;
  logger?: Logger;
}

/** Plain counters, cheap to bump on the hot path; the gateway exports them as Prometheus metrics. */
export class PipelineStats {
  /** Messages handed to the pipeline (including unroutable ones). */
  received = 0;
  /** Readings delivered to the sinks. */
  readings = 0;
  /** Rejections by reason (a message with two bad fields counts two). */
  readonly rejected: Record<RejectReason, number> = zeroCounts();
  /** Exceptions thrown by sinks (which should not throw). */
  sinkErrors = 0;
}

export interface PipelineSnapshot {
  received: number;
  readings: number;
  rejected: Record<RejectReason, number>;
  sinkErrors: number;
}

const LOG_INTERVAL_MS = 60_000;

export class Pipeline {
  readonly counters = new PipelineStats();
  readonly #devices: DeviceDirectory;
  readonly #models: { get(id: string): DeviceModel | undefined };
  readonly #sinks: readonly ReadingSink[];
  readonly #rejects: RejectSink;
  readonly #clock: Clock;
  readonly #limits: PipelineLimits;
  readonly #logger: Logger | undefined;
  readonly #decoders: Record<WireFormat, FormatDecoder>;
  /** Base tags per device object; a registry update replaces the object, so the cache follows. */
  readonly #tags = new WeakMap<Device, Readonly<Record<string, string>>>();
  readonly #errorLog: LogThrottle;

  constructor(opts: PipelineOptions) {
    this.#devices = opts.devices;
    this.#models = opts.models;
    this.#sinks = [...opts.sinks];
    this.#rejects = opts.rejects;
    this.#clock = opts.clock ?? systemClock;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#logger = opts.logger;
    this.#decoders = createDecoders({ maxDepth: this.#limits.maxDepth });
    this.#errorLog = new LogThrottle(LOG_INTERVAL_MS, this.#clock, 1000);
  }

  handle(msg: InboundMessage): void {
    this.counters.received++;
    try {
      this.#process(msg);
    } catch (err) {
      // A bug, not bad input: the message is dead-lettered and the stream goes on.
      this.#logError(
        `decode:${msg.deviceId}`,
        err,
        { deviceId: msg.deviceId, topic: msg.topic },
        'ingest failed',
      );
      this.#reject(msg, { reason: 'malformed', detail: `internal error: ${String(err).slice(0, 200)}` });
    }
  }

  /** A message whose topic matched no model's pattern (the MQTT adapter calls this instead of handle). */
  unroutable(transport: Transport, topic: string, payload: Buffer, at?: number): void {
    this.counters.received++;
    this.#emitReject({
      reason: 'unknown_topic',
      at: at ?? this.#clock.now(),
      transport,
      topic: topic.length > 256 ? `${topic.slice(0, 256)}…` : topic,
      detail: 'topic matches no device topic pattern',
      payloadPreview: previewPayload(payload),
    });
  }

  /** The broker saw the device's client connect (online) or disconnect. Unknown clients are ignored: not every client is a device. */
  connectivity(deviceId: string, online: boolean, at?: number): void {
    try {
      const device = this.#devices.get(deviceId);
      if (!device || device.state === 'retired') return;
      const now = this.#clock.now();
      this.#deliver(connectivityReading(device, online, at ?? now), device, now);
    } catch (err) {
      this.#logError(`connectivity:${deviceId}`, err, { deviceId }, 'connectivity update failed');
    }
  }

  stats(): PipelineSnapshot {
    const c = this.counters;
    return {
      received: c.received,
      readings: c.readings,
      rejected: { ...c.rejected },
      sinkErrors: c.sinkErrors,
    };
  }

  #process(msg: InboundMessage): void {
    const limits = this.#limits;
    if (msg.payload.length > limits.maxPayloadBytes) {
      this.#reject(msg, {
        reason: 'payload_too_large',
        detail: `${msg.payload.length} bytes, limit ${limits.maxPayloadBytes}`,
      });
      return;
    }
    const device = this.#devices.get(msg.deviceId);
    if (!device || device.state === 'retired') {
      this.#reject(msg, {
        reason: 'unknown_device',
        detail: device ? `device '${msg.deviceId}' is retired` : `device '${msg.deviceId}' is not registered`,
      });
      return;
    }
    const model = this.#models.get(device.model);
    if (!model) {
      this.#reject(msg, {
        reason: 'unknown_model',
        detail: `device '${device.id}' has model '${device.model}', which is not in the model index`,
      });
      return;
    }
    const ctx: DecodeContext = { msg, device, model, tags: this.#tagsFor(device) };
    const result: DecodeResult =
      msg.kind === 'status' ? decodeStatus(ctx, limits.maxDepth) : this.#decoders[model.format](ctx);
    let preview: string | undefined;
    for (const r of result.rejects) {
      preview ??= previewPayload(msg.payload);
      this.#reject(msg, r, preview);
    }
    const now = this.#clock.now();
    for (const reading of result.readings) {
      const ahead = reading.time - now;
      if (ahead > limits.maxFutureSkewMs || -ahead > limits.maxAgeMs || !Number.isFinite(ahead)) {
        preview ??= previewPayload(msg.payload);
        this.#reject(
          msg,
          {
            reason: 'bad_timestamp',
            detail: `${reading.measurement} reading is ${Math.round(Math.abs(ahead) / 1000)} s in the ${ahead > 0 ? 'future' : 'past'}`,
          },
          preview,
        );
        continue;
      }
      if (device.calibration !== undefined) calibrate(reading, device.calibration);
      this.#deliver(reading, device, now);
    }
  }

  #deliver(reading: Reading, device: Device, now: number): void {
    this.counters.readings++;
    const sinks = this.#sinks;
    for (let i = 0; i < sinks.length; i++) {
      try {
        (sinks[i] as ReadingSink).write(reading, device, now);
      } catch (err) {
        this.counters.sinkErrors++;
        this.#logError(
          `sink:${i}`,
          err,
          { sink: i, deviceId: device.id },
          'sink threw; other sinks still get the reading',
        );
      }
    }
  }

  #tagsFor(device: Device): Readonly<Record<string, string>> {
    let t = this.#tags.get(device);
    if (!t) {
      t = Object.freeze(baseTags(device));
      this.#tags.set(device, t);
    }
    return t;
  }

  #reject(msg: InboundMessage, r: DecodeReject, preview?: string): void {
    this.#emitReject({
      ...r,
      at: this.#clock.now(),
      transport: msg.transport,
      deviceId: msg.deviceId,
      topic: msg.topic,
      payloadPreview: preview ?? previewPayload(msg.payload),
    });
  }

  #emitReject(r: Rejection): void {
    this.counters.rejected[r.reason]++;
    try {
      this.#rejects.reject(r);
    } catch (err) {
      this.#logError('rejects', err, { reason: r.reason }, 'reject sink threw');
    }
  }

  #logError(key: string, err: unknown, bindings: Record<string, unknown>, msg: string): void {
    const logger = this.#logger;
    if (!logger) return;
    const suppressed = this.#errorLog.admit(key);
    if (suppressed >= 0) logger.error({ ...bindings, err, suppressed }, msg);
  }
}
