import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import { CameraWorker } from './camera-worker.js';
import { capError, ProcessBudget, type ProcessLease } from './process-budget.js';
import { makeScrubber } from './scrub.js';
import { encodeJpeg, grabJpeg } from './snapshot-grab.js';
import type { CameraStatus, CameraSupervisorOptions, SupervisedCamera } from './types.js';

interface Entry {
  camera: SupervisedCamera;
  /** What makes a camera "changed": any field ffmpeg sees. */
  key: string;
  worker?: CameraWorker;
  lease?: ProcessLease;
  cappedSince?: number;
}

const keyOf = (c: SupervisedCamera) => JSON.stringify([c.url, c.subUrl, c.username, c.password, c.transport]);

/**
 * Supervises one ffmpeg analysis per camera (camera-worker.ts) within one process budget shared
 * with snapshot grabs and live relays (cameras.maxProcesses). A camera past the cap is not started:
 * its status says GG_ERR_CAMERA_CAP, and it starts by itself when a slot frees.
 */
export class CameraSupervisor {
  private readonly budget: ProcessBudget;
  private readonly log: Logger;
  private readonly entries = new Map<string, Entry>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly snapshots = new Set<Promise<unknown>>();
  private abort = new AbortController();
  private running = false;

  constructor(private readonly opts: CameraSupervisorOptions) {
    this.budget = new ProcessBudget(opts.maxProcesses);
    this.log = opts.logger.child({ component: 'cameras' });
    this.budget.onRelease(() => this.startCapped());
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.launch([...this.entries.values()]);
  }

  /** Adds new cameras, removes missing ones, restarts changed ones. */
  sync(cameras: readonly SupervisedCamera[]): void {
    const wanted = new Map(cameras.map((c) => [c.id, c]));
    const added: Entry[] = [];
    for (const [id, e] of this.entries) {
      const c = wanted.get(id);
      if (!c) {
        this.entries.delete(id);
        this.retire(e);
      } else if (keyOf(c) !== e.key) {
        this.replace(e, c);
      }
    }
    for (const c of cameras) {
      if (this.entries.has(c.id)) continue;
      const e: Entry = { camera: c, key: keyOf(c) };
      this.entries.set(c.id, e);
      added.push(e);
    }
    if (this.running) this.launch(added);
  }

  status(cameraId: string): CameraStatus | undefined {
    const e = this.entries.get(cameraId);
    if (!e) return undefined;
    if (e.worker) return e.worker.status();
    return {
      id: cameraId,
      state: e.cappedSince !== undefined ? 'capped' : 'stopped',
      restarts: 0,
      since: e.cappedSince ?? Date.now(),
      lastError:
        e.cappedSince !== undefined
          ? capError(this.opts.maxProcesses, `camera ${cameraId}`).message
          : undefined,
    };
  }

  statuses(): CameraStatus[] {
    return [...this.entries.keys()].map((id) => this.status(id) as CameraStatus);
  }

  /** ffmpeg slots held now (analyses, snapshots in progress, live relays). */
  processCount(): number {
    return this.budget.count();
  }

  /** A slot of the shared budget (live relays); throws GG_ERR_CAMERA_CAP when none is free. */
  acquireProcess(purpose: string): ProcessLease {
    return this.budget.acquire(purpose);
  }

  /**
   * JPEG of the camera now: the newest analysed keyframe when it is at most two stats intervals old
   * (no new connection to the camera), else a one-shot grab from its main stream.
   */
  snapshot(cameraId: string, timeoutMs: number): Promise<{ jpeg: Buffer; at: number }> {
    const p = this.takeSnapshot(cameraId, timeoutMs);
    this.snapshots.add(p);
    void p.then(
      () => this.snapshots.delete(p),
      () => this.snapshots.delete(p),
    );
    return p;
  }

  private async takeSnapshot(cameraId: string, timeoutMs: number): Promise<{ jpeg: Buffer; at: number }> {
    const e = this.entries.get(cameraId);
    const unavailable = (why: string) =>
      new GridgateError('GG_ERR_CAMERA_UNAVAILABLE', `no snapshot of camera ${cameraId}: ${why}`);
    if (!e || !this.running) throw unavailable('camera is not supervised');
    const lease = this.budget.tryAcquire(`snapshot ${cameraId}`);
    if (!lease)
      throw unavailable(`all ${this.opts.maxProcesses} ffmpeg processes (cameras.maxProcesses) are in use`);
    const scrub = e.worker?.scrub ?? makeScrubber([e.camera.password]);
    const limits = { timeoutMs, signal: this.abort.signal };
    try {
      const kept = e.worker?.keptFrame();
      if (kept && Date.now() - kept.at <= 2 * this.opts.statsIntervalS * 1000) {
        return { jpeg: await encodeJpeg(this.opts.ffmpeg, kept.frame, limits), at: kept.at };
      }
      const ioTimeoutMs = Math.min(this.opts.connectTimeoutS * 1000, timeoutMs);
      const jpeg = await grabJpeg(this.opts.ffmpeg, e.camera, { ...limits, ioTimeoutMs });
      return { jpeg, at: Date.now() };
    } catch (err) {
      throw unavailable(scrub((err as Error).message));
    } finally {
      lease.release();
    }
  }

  /** Makes the camera's next keyframe its reference frame; resolves once stored. */
  async refreshReference(cameraId: string): Promise<{ at: number }> {
    const w = this.entries.get(cameraId)?.worker;
    if (!w) throw new GridgateError('GG_ERR_CAMERA_UNAVAILABLE', `camera ${cameraId} is not being analysed`);
    try {
      return await w.refreshReference(this.opts.refreshTimeoutMs ?? 30_000);
    } catch (err) {
      throw new GridgateError(
        'GG_ERR_CAMERA_UNAVAILABLE',
        `reference of camera ${cameraId} not taken: ${w.scrub((err as Error).message)}`,
      );
    }
  }

  /** Kills every ffmpeg this supervisor started and waits until each has exited. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    for (const e of this.entries.values()) this.retire(e, true);
    await Promise.allSettled([...this.stopping, ...this.snapshots]);
  }

  /**
   * A changed camera: its slot passes to the new settings, whose process starts once the old one
   * has exited (so the two never run at once, and the cap cannot refuse the change).
   */
  private replace(old: Entry, camera: SupervisedCamera): void {
    const next: Entry = { camera, key: keyOf(camera) };
    this.entries.set(camera.id, next);
    const { worker, lease } = old;
    old.worker = undefined;
    old.lease = undefined;
    if (!worker || !lease) {
      if (this.running) this.launch([next]);
      return;
    }
    next.lease = lease;
    const p = worker.stop().finally(() => {
      this.stopping.delete(p);
      if (this.running && this.entries.get(camera.id) === next && next.lease === lease) {
        this.log.info({ camera: camera.id }, 'camera settings changed; analysis restarted');
        this.startWorker(next);
      } else if (next.lease === lease) {
        next.lease = undefined;
        lease.release();
      }
    });
    this.stopping.add(p);
  }

  /** Stops an entry's worker and frees its slot once its process is gone. */
  private retire(e: Entry, keepEntry = false): void {
    const { worker, lease } = e;
    e.worker = undefined;
    e.lease = undefined;
    e.cappedSince = undefined;
    if (!worker) return void lease?.release();
    const p = worker.stop().finally(() => {
      this.stopping.delete(p);
      lease?.release();
    });
    this.stopping.add(p);
    if (!keepEntry) this.log.info({ camera: e.camera.id }, 'camera supervision ended');
  }

  private launch(entries: Entry[]): void {
    const capped: string[] = [];
    for (const e of entries) {
      if (!this.startEntry(e)) capped.push(e.camera.id);
    }
    if (capped.length > 0) {
      this.log.error(
        { cameras: capped.slice(0, 20), count: capped.length, maxProcesses: this.opts.maxProcesses },
        `GG_ERR_CAMERA_CAP: ${capped.length} camera(s) not supervised: cameras.maxProcesses (${this.opts.maxProcesses}) ffmpeg processes are in use; raise cameras.maxProcesses in the gateway config to at least the number of cameras plus the live views and snapshots expected at once`,
      );
    }
  }

  private startEntry(e: Entry): boolean {
    const lease = this.budget.tryAcquire(`camera ${e.camera.id}`);
    if (!lease) {
      e.cappedSince ??= Date.now();
      return false;
    }
    e.cappedSince = undefined;
    e.lease = lease;
    this.startWorker(e);
    return true;
  }

  private startWorker(e: Entry): void {
    const o = this.opts;
    e.worker = new CameraWorker(e.camera, {
      ffmpeg: o.ffmpeg,
      statsIntervalS: o.statsIntervalS,
      stallS: o.stallS,
      connectTimeoutS: o.connectTimeoutS,
      backoff: o.backoff,
      stableS: o.stableS ?? 30,
      references: o.references,
      logger: this.log,
      emit: (fields, at) => {
        try {
          o.onReading(e.camera.id, fields, at);
        } catch (err) {
          this.log.error(
            { camera: e.camera.id, err: (err as Error).message },
            'camera reading handler failed',
          );
        }
      },
    });
    e.worker.start();
  }

  /** A slot freed: the first capped cameras (in registry order) take it. */
  private startCapped(): void {
    if (!this.running) return;
    for (const e of this.entries.values()) {
      if (e.cappedSince === undefined) continue;
      if (!this.startEntry(e)) return;
      this.log.info({ camera: e.camera.id }, 'camera supervision started after a process slot freed');
    }
  }

  /** For tests and diagnostics: pids of the analysis processes running now. */
  pids(): number[] {
    return [...this.entries.values()].flatMap((e) => {
      const pid = e.worker?.status().pid;
      return pid === undefined ? [] : [pid];
    });
  }
}
