import type { Device, Reading } from '../types.js';

/**
 * The capture file (`gridgate start --capture FILE`, read by `gridgate rules test --replay FILE`):
 * NDJSON, one normalized reading per line. The device record, as the registry knew it at that
 * moment, rides along on a device's first line and again whenever it changed, so a replay
 * evaluates selectors, attributes and install state exactly as live did without repeating the
 * record on every line (a day of 1,000 devices would otherwise be ~5 times larger and slower).
 *
 *   {"reading":{"device":"WL-001","measurement":"flood","time":1751328000000,"fields":{...},"tags":{...}},"device":{...}}
 *   {"reading":{"device":"WL-001",...}}
 */
export interface CaptureLine {
  reading: Reading;
  device: Device;
}

/** One line with the device record. */
export function formatCaptureLine(reading: Reading, device: Device): string {
  return `${JSON.stringify({ reading, device })}\n`;
}

/** Writes the device record only when it is new or changed (the registry replaces a changed device's object). */
export class CaptureFormatter {
  private readonly written = new Map<string, Device>();

  line(reading: Reading, device: Device): string {
    if (this.written.get(device.id) === device) return `${JSON.stringify({ reading })}\n`;
    this.written.set(device.id, device);
    return formatCaptureLine(reading, device);
  }
}

/** Reads lines back, remembering each device's latest record for the lines that omit it. */
export class CaptureParser {
  private readonly devices = new Map<string, Device>();

  /** Undefined for a blank or malformed line, or one whose device was never described (counted by the caller). */
  parse(line: string): CaptureLine | undefined {
    if (!line.trim()) return undefined;
    try {
      const v = JSON.parse(line) as Partial<CaptureLine>;
      const r = v.reading;
      if (!r || typeof r.time !== 'number' || typeof r.device !== 'string') return undefined;
      let d = v.device;
      if (d) {
        if (typeof d.id !== 'string') return undefined;
        this.devices.set(d.id, d);
      } else {
        d = this.devices.get(r.device);
        if (!d) return undefined;
      }
      r.fields ??= {};
      r.tags ??= {};
      return { reading: r, device: d };
    } catch {
      return undefined;
    }
  }
}

/** A self-contained line (with its device) back into a reading and device. */
export function parseCaptureLine(line: string): CaptureLine | undefined {
  return new CaptureParser().parse(line);
}
