import type { Device, Reading } from '../types.js';

/**
 * The capture file (`gridgate start --capture FILE`, read by `gridgate rules test --replay FILE`):
 * NDJSON, one normalized reading per line with the device as the registry knew it at that moment,
 * so a replay evaluates selectors, attributes and install state exactly as live did.
 *
 *   {"reading":{"device":"WL-001","measurement":"flood","time":1751328000000,"fields":{...},"tags":{...}},"device":{...}}
 */
export interface CaptureLine {
  reading: Reading;
  device: Device;
}

export function formatCaptureLine(reading: Reading, device: Device): string {
  return `${JSON.stringify({ reading, device })}\n`;
}

/** A line back into a reading and device; undefined for a blank or malformed line (counted by the caller). */
export function parseCaptureLine(line: string): CaptureLine | undefined {
  if (!line.trim()) return undefined;
  try {
    const v = JSON.parse(line) as Partial<CaptureLine>;
    const r = v.reading;
    const d = v.device;
    if (!r || !d || typeof r.time !== 'number' || typeof r.device !== 'string' || typeof d.id !== 'string')
      return undefined;
    r.fields ??= {};
    r.tags ??= {};
    return { reading: r, device: d };
  } catch {
    return undefined;
  }
}
