import type { Logger } from 'pino';

/** |DataTime - receive time| above which a frame is worth a warning. */
const THRESHOLD_MS = 5 * 60_000;
/** At most one warning per station in this long. */
const EVERY_MS = 3_600_000;
/** Stations remembered for the rate limit; the least recently warned are forgotten first. */
const MAX_STATIONS = 10_000;

/**
 * Warns when a station's DataTime is far from the time its frame arrived. HJ 212 readings are stored
 * at DataTime (China Standard Time, as the standard says), so a station whose clock is hours slow
 * writes its readings hours in the past, where no dashboard looks and no rule window sees them (and
 * one that is fast has them refused as future readings by the pipeline).
 * The warning is the installer's cue; `gridgate devices status` shows the same drift. One line per
 * station per EVERY_MS, with how many frames were off since the last line.
 */
export class ClockSkewWarnings {
  /** MN -> when it was last warned about and the frames off since. */
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly log: Logger) {}

  /** Called per real-time frame with its skew (DataTime - receive time, ms). */
  observe(mn: string, deviceId: string, skewMs: number, at: number): void {
    if (Math.abs(skewMs) <= THRESHOLD_MS) return;
    const prev = this.#last.get(mn);
    if (prev && at - prev.at < EVERY_MS) {
      prev.suppressed++;
      return;
    }
    this.#last.delete(mn);
    if (this.#last.size >= MAX_STATIONS) {
      const oldest = this.#last.keys().next().value;
      if (oldest !== undefined) this.#last.delete(oldest);
    }
    this.#last.set(mn, { at, suppressed: 0 });
    const minutes = Math.round(Math.abs(skewMs) / 60_000);
    this.log.warn(
      {
        device: deviceId,
        mn,
        skewS: Math.round(skewMs / 1000),
        framesOffSinceLastWarning: prev?.suppressed,
      },
      skewMs > 0
        ? `hj212 DataTime is ${minutes} min ahead of receive time: the station's clock is wrong (DataTime is China time, UTC+8); readings further ahead than ingest.maxFutureSkewS are refused`
        : `hj212 DataTime is ${minutes} min behind receive time: the station's clock is wrong, or it is resending stored data (DataTime is China time, UTC+8); its readings are stored at DataTime`,
    );
  }
}
