/**
 * Snapshot evidence on alert events (issue 17): an AlertSink wrapper that, for an event about a
 * device or location that cameras cover, grabs one JPEG per camera in parallel, stores it, and puts
 * `{ kind: 'snapshot', camera, at, url }` (or `{ ..., error }` when the grab failed or ran out of
 * time) into `evidence` before handing the event on.
 *
 * Bounds and order:
 * - An event is held at most `waitMs` from the moment it is emitted; a grab still running then
 *   becomes an `error` entry, never a missing one.
 * - Events of one incident reach the inner sink in the order they were emitted: a resolve emitted
 *   while its firing waits for a snapshot waits behind it (a consumer must never see "resolved"
 *   before "firing"). Each event's own grabs start at once, so the wait behind a predecessor
 *   overlaps them and the bound still holds. Events of other incidents never wait.
 * - Events with no cameras and nothing of their incident in flight pass through untouched, in the
 *   same tick.
 *
 * Which events: `alert.firing` (the picture of the moment the incident opened) and
 * `alert.escalated` (it reaches a new audience, a higher severity route or the 督办 supervisor, who
 * sees this event rather than the firing one, and the scene may have changed since: the water rose).
 * Reminders repeat on a timer and would fill the store with near-identical pictures; a resolve says
 * the condition ended, which the measured value shows better than a still.
 *
 * Processors never import adapters: the camera grab, the store and the camera lookup come in as
 * functions (the gateway wires the RTSP supervisor, the snapshot store and the registry).
 */
import type { Logger } from 'pino';
import type { Device, LocationPath } from '../types.js';
import type { AlertEvent, AlertEventType, AlertEvidence, AlertSink } from './event.js';

/** A still from a camera: rejects when the camera cannot give one within `timeoutMs`. */
export type SnapshotSource = (cameraId: string, timeoutMs: number) => Promise<{ jpeg: Buffer; at: number }>;

/** Keeps a JPEG and says where the HTTP API serves it. */
export type SnapshotWriter = (cameraId: string, jpeg: Buffer, at: number) => Promise<{ url: string }>;

const TIMED_OUT = Symbol('timed out');

export const EVIDENCE_EVENT_TYPES: readonly AlertEventType[] = ['alert.firing', 'alert.escalated'];

export interface EvidenceSinkOptions {
  inner: AlertSink;
  source: SnapshotSource;
  store: SnapshotWriter;
  /** Camera ids whose picture belongs with this event (see camerasForEvent); [] for none. */
  camerasFor: (event: AlertEvent) => readonly string[];
  /** cameras.snapshots.waitMs: the most an event is held for its snapshots. */
  waitMs: number;
  /** Event types that get snapshots (default EVIDENCE_EVENT_TYPES). */
  types?: readonly AlertEventType[];
  /** Epoch ms, for the `at` of error entries. */
  now?: () => number;
  logger: Logger;
}

export interface EvidenceStats {
  /** Events held for snapshots. */
  events: number;
  snapshots: number;
  failed: number;
  timedOut: number;
}

export class EvidenceSink implements AlertSink {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly types: ReadonlySet<AlertEventType>;
  /** Per incident: resolves once the newest held event of it was handed to the inner sink. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly counts: EvidenceStats = { events: 0, snapshots: 0, failed: 0, timedOut: 0 };

  constructor(private readonly opts: EvidenceSinkOptions) {
    this.log = opts.logger.child({ component: 'alert-evidence' });
    this.now = opts.now ?? Date.now;
    this.types = new Set(opts.types ?? EVIDENCE_EVENT_TYPES);
  }

  emit(event: AlertEvent): Promise<void> {
    const cameras = this.camerasOf(event);
    const key = event.incidentId;
    const before = this.tails.get(key);
    if (before === undefined && cameras.length === 0) return this.opts.inner.emit(event);

    const ready = cameras.length > 0 ? this.attach(event, cameras) : Promise.resolve(event);
    let handed!: () => void;
    const tail = new Promise<void>((resolve) => {
      handed = resolve;
    });
    this.tails.set(key, tail);
    this.inFlight.add(tail);
    const forwarded = Promise.all([before, ready]).then(([, enriched]) => {
      let sent: Promise<void>;
      try {
        sent = this.opts.inner.emit(enriched);
      } catch (err) {
        sent = Promise.reject(err);
      } finally {
        // The next event of this incident is handed on after this one, never before.
        handed();
        this.inFlight.delete(tail);
        if (this.tails.get(key) === tail) this.tails.delete(key);
      }
      return sent;
    });
    return forwarded;
  }

  /** Resolves once every held event has been handed on (at most waitMs): call before stopping the inner sink. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  stats(): EvidenceStats {
    return { ...this.counts };
  }

  private camerasOf(event: AlertEvent): string[] {
    if (event.shadow === true || !this.types.has(event.type)) return [];
    try {
      return [...new Set(this.opts.camerasFor(event))];
    } catch (err) {
      // A lookup bug must not hold back or drop the alert itself.
      this.log.error({ err, eventId: event.id }, 'camera lookup failed; event sent without evidence');
      return [];
    }
  }

  /** Never rejects: every camera yields an entry, with `url` or with `error`. */
  private async attach(event: AlertEvent, cameras: readonly string[]): Promise<AlertEvent> {
    this.counts.events++;
    const { waitMs } = this.opts;
    let expired = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        expired = true;
        resolve();
      }, waitMs);
    });
    const entries = await Promise.all(
      cameras.map(async (camera): Promise<AlertEvidence> => {
        const first = await Promise.race([
          this.grab(camera, () => expired),
          deadline.then((): typeof TIMED_OUT => TIMED_OUT),
        ]);
        if (first !== TIMED_OUT) return first;
        this.counts.timedOut++;
        return this.failure(camera, `no snapshot within ${waitMs} ms (cameras.snapshots.waitMs)`);
      }),
    );
    clearTimeout(timer);
    this.log.debug(
      { eventId: event.id, cameras: cameras.length, failed: entries.filter((e) => 'error' in e).length },
      'snapshot evidence attached',
    );
    return { ...event, evidence: [...event.evidence, ...entries] };
  }

  private async grab(camera: string, expired: () => boolean): Promise<AlertEvidence> {
    let shot: { jpeg: Buffer; at: number };
    try {
      shot = await this.opts.source(camera, grabBudget(this.opts.waitMs));
    } catch (err) {
      if (!expired()) this.counts.failed++;
      this.log.warn({ camera, err: scrub(messageOf(err)) }, 'snapshot failed');
      return this.failure(camera, `snapshot failed: ${scrub(messageOf(err))}`);
    }
    // Too late: the event already went out with its timeout entry (this result is dropped), and a
    // stored file would be an orphan no event points to.
    if (expired()) return this.failure(camera, 'late');
    try {
      const { url } = await this.opts.store(camera, shot.jpeg, shot.at);
      this.counts.snapshots++;
      return { kind: 'snapshot', camera, at: iso(shot.at, this.now()), url };
    } catch (err) {
      if (!expired()) this.counts.failed++;
      this.log.error({ camera, err }, 'snapshot could not be stored');
      const code = (err as NodeJS.ErrnoException).code;
      return this.failure(camera, `snapshot could not be stored${code ? ` (${code})` : ''}`);
    }
  }

  private failure(camera: string, error: string): AlertEvidence {
    return { kind: 'snapshot', camera, at: iso(this.now(), Date.now()), error };
  }
}

/** What the camera lookup needs of the registry; processors/registry/camera.ts `CameraIndex` is one. */
export interface CameraLookup {
  device(id: string): Device | undefined;
  /** The device itself when it is a camera, its `cameras` binding, the cameras that `cover` it. */
  camerasFor(device: Device): readonly string[];
  /** Cameras at this location (incidents of correlation rules, keyed by location). */
  coveringLocation(location: LocationPath): readonly string[];
}

/**
 * The cameras whose picture belongs with an event: for a device's incident the registry's
 * camerasFor (a camera's own incident included: its current picture is the evidence); for an
 * incident keyed by location (no device), the cameras of that location. A device no longer in the
 * registry has none.
 */
export function camerasForEvent(event: AlertEvent, lookup: CameraLookup): string[] {
  if (!event.device) return [...lookup.coveringLocation(event.location)];
  const d = lookup.device(event.device.id);
  return d ? [...lookup.camerasFor(d)] : [];
}

/**
 * The grab gets a little less than the whole wait: storing the file needs a moment, and a source
 * that gives up first says why (connect refused, stream stalled), which beats a bare timeout.
 */
export function grabBudget(waitMs: number): number {
  return Math.max(0, waitMs - Math.min(200, Math.floor(waitMs / 5)));
}

function iso(at: number, fallback: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? new Date(fallback).toISOString() : d.toISOString();
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Alert events leave the gateway: an RTSP URL with credentials in an error text (ffmpeg echoes
 * them) must not. Strips `user:pass@` from any URL and caps the length.
 */
export function scrub(message: string): string {
  const clean = message.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1').replace(/\s+/g, ' ');
  return clean.length > 200 ? `${clean.slice(0, 199)}…` : clean;
}
