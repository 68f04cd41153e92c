import type { WireFormat } from '../devices/define.js';
import { decodeHj212 } from './hj212.js';
import { createJsonDecoder, DEFAULT_MAX_DEPTH } from './json.js';
import type { FormatDecoder } from './types.js';

/** One decoder per wire format. The pipeline picks by `model.format`; adding a format is one line here. */

export interface DecoderLimits {
  /** Deepest nesting a structured payload may have (ingest.maxDepth). */
  maxDepth?: number;
}

export function createDecoders(limits: DecoderLimits = {}): Record<WireFormat, FormatDecoder> {
  return {
    json: createJsonDecoder({ maxDepth: limits.maxDepth ?? DEFAULT_MAX_DEPTH }),
    // HJ 212 data segments are flat key=value lists, and the deframer bounds their length itself.
    hj212: decodeHj212,
  };
}

export const decoders: Record<WireFormat, FormatDecoder> = createDecoders();
