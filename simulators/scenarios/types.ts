import type { DeviceModel } from '../../processors/devices/define.js';
import type { Device } from '../../processors/types.js';
import type { AccessRecord, CanonicalValues } from '../encode.js';

/** A simulated device: its registry entry and its model. */
export interface SimDevice {
  device: Device;
  model: DeviceModel;
}

/**
 * What a device sends, stamped with scenario time (epoch ms on the scenario clock). The runner maps
 * scenario time to wall-clock time when it stamps the vendor payload, so a compressed scenario still
 * produces timestamps the gateway accepts.
 */
export type Emission =
  | { kind: 'telemetry'; at: number; values: CanonicalValues }
  | { kind: 'event'; at: number; record: AccessRecord }
  /** Drop the connection abruptly (no DISCONNECT, so the broker publishes the LWT) until `untilMs`. */
  | { kind: 'offline'; at: number; untilMs: number };

/** One device's behaviour under a scenario. Deterministic for a given seed and sequence of ticks. */
export interface Behaviour {
  /** Everything the device sends in the scenario-time span (from, to], in time order. */
  tick(from: number, to: number): Emission[];
}

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;
const CHINA_OFFSET_MS = 8 * HOUR_MS;

/** Hour of day (fractional, 0–24) in China Standard Time; working hours and diurnal cycles follow it. */
export function chinaHour(ms: number): number {
  const day = 24 * HOUR_MS;
  return ((((ms + CHINA_OFFSET_MS) % day) + day) % day) / HOUR_MS;
}

/** Emits at a fixed interval, with a per-device phase so a fleet does not report in lock-step. */
export class Periodic {
  private next: number;
  constructor(
    readonly intervalMs: number,
    startMs: number,
    phase: number,
  ) {
    this.next = startMs + Math.floor(phase * intervalMs);
  }

  /** Report times in (from, to]. After a long stall only the most recent `max` are kept. */
  due(from: number, to: number, max = 100): number[] {
    if (this.next <= from) this.next += Math.ceil((from - this.next + 1) / this.intervalMs) * this.intervalMs;
    const out: number[] = [];
    while (this.next <= to) {
      out.push(this.next);
      this.next += this.intervalMs;
    }
    return out.length > max ? out.slice(-max) : out;
  }
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
