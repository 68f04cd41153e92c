import type { DeviceModel } from '../devices/define.js';
import type { Rejection } from '../errors.js';
import type { Device, InboundMessage, Reading } from '../types.js';

/** What a wire-format decoder gets: the message, the device it came from, and that device's model. */
export interface DecodeContext {
  msg: InboundMessage;
  device: Device;
  model: DeviceModel;
  /** Tags every reading of this device carries (baseTags(device)); decoders add their own on top. */
  tags: Readonly<Record<string, string>>;
}

/** A rejection without the fields the pipeline fills in (at, transport, deviceId, topic). */
export type DecodeReject = Omit<Rejection, 'at' | 'transport' | 'deviceId' | 'topic'>;

export interface DecodeResult {
  /** Readings with `time` set to the device's timestamp where it sent one, else msg.receivedAt. The pipeline checks time sanity. */
  readings: Reading[];
  /** Whole-message or per-field rejects; a message can yield readings and rejects at once. */
  rejects: DecodeReject[];
}

/** One per WireFormat (processors/decode/index.ts). Must not throw on any input. */
export type FormatDecoder = (ctx: DecodeContext) => DecodeResult;
