import type { RejectReason } from '../errors.js';

/**
 * Safe JSON parsing for device payloads: strict UTF-8, a nesting limit checked before the parser
 * runs, and exceptions turned into reject reasons. Nothing a device sends can throw out of here.
 */

export type ParseResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; reason: RejectReason; detail: string };

// One decoder for the process: decode() with {stream: false} keeps no state between calls.
// `fatal` turns invalid UTF-8 into an exception instead of silent U+FFFD replacement (RFC 8259 §8.1).
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(buf: Uint8Array): string | undefined {
  try {
    return utf8.decode(buf);
  } catch {
    return undefined;
  }
}

/** Parses a payload that must be a JSON object. */
export function parseJsonObject(buf: Uint8Array, maxDepth: number): ParseResult {
  const text = decodeUtf8(buf);
  if (text === undefined) return { ok: false, reason: 'invalid_utf8', detail: 'payload is not valid UTF-8' };
  if (countOpenings(buf, maxDepth) > maxDepth && maxNesting(buf, maxDepth) > maxDepth) {
    return { ok: false, reason: 'too_deep', detail: `nesting deeper than ${maxDepth} levels` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      reason: 'malformed',
      detail: `invalid JSON: ${(err as Error).message.slice(0, 120)}`,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      reason: 'not_an_object',
      detail: `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
    };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * How many `{` and `[` bytes the text holds, counting no further than limit + 1: nesting can be no
 * deeper, so when this is within the limit the byte-by-byte scan is not needed. A handful of native
 * searches for a typical telemetry object instead of a JS loop over every byte.
 */
function countOpenings(buf: Uint8Array, limit: number): number {
  let n = 0;
  for (let i = buf.indexOf(0x7b); i !== -1 && n <= limit; i = buf.indexOf(0x7b, i + 1)) n++;
  for (let i = buf.indexOf(0x5b); i !== -1 && n <= limit; i = buf.indexOf(0x5b, i + 1)) n++;
  return n;
}

/**
 * The deepest bracket nesting in a JSON text, scanning bytes once and stopping as soon as it passes
 * `limit`. No recursion, so a megabyte of `[[[[` costs one linear pass and cannot exhaust the stack
 * (of this code or of anything that later walks the parsed value). Brackets inside strings are
 * skipped; UTF-8 continuation bytes are >= 0x80 so they never look like ASCII structure.
 */
export function maxNesting(buf: Uint8Array, limit: number): number {
  // A text of n bytes cannot nest deeper than n.
  if (buf.length <= limit) return 0;
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}
