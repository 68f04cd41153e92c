import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import { CameraWorker } from './camera-worker.js';
import { capError, ProcessBudget, type ProcessLease } from './process-budget.js';
import { makeScrubber } from './scrub.js';
import { encodeJpeg, grabJpeg } from './snapshot-grab.js';
import type { CameraStatus, CameraSupervisorOptions, SupervisedCamera } from './types.js';

interface Entry {
  camera: SupervisedCamera;
  worker?: CameraWorker;
  lease?: ProcessLease;
  cappedSince?: number;
}

/** What makes a camera "changed": any field ffmpeg sees. */
const keyOf = (c: SupervisedCamera) => JSON.stringify([c.url, c.subUrl, c.username, c.password, c.transport]);

/** How long refreshReference waits for a keyframe. */
const REFRESH_TIMEOUT_MS = 30_000;

/**
 * Supervises one ffmpeg analysis per camera (camera-worker.ts) within one process budget shared
 * with snapshot grabs and live relays (cameras.maxProcesses). A camera past the cap is not started:
 * its status says GG_ERR_CAMERA_CAP, and it starts by itself when a slot frees.
 */
export class CameraSupervisor {
  private readonly budget: ProcessBudget;
  private readonly log: Logger;
  private readonly entries = new Map<string, Entry>();
  /** Worker stops and snapshots in flight: stop() waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  private abort = new AbortController();
  private running = false;

  constructor(private readonly opts: CameraSupervisorOptions) {
    this.budget = new ProcessBudget(opts.maxProcesses, () => this.startCapped());
    // The caller names the component (the gateway: `cameras`).
    this.log = opts.logger;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.launch([...this.entries.values()]);
  }

  /** Adds new cameras, removes missing ones, restarts changed ones. */
  sync(cameras: readonly SupervisedCamera[]): void {
    const wanted = new Set(cameras.map((c) => c.id));
    const added: Entry[] = [];
    for (const [id, e] of this.entries) {
      if (wanted.has(id)) continue;
      this.entries.delete(id);
      if (e.worker) this.log.info({ camera: id }, 'camera supervision ended');
      this.retire(e);
    }
    for (const c of cameras) {
      const e = this.entries.get(c.id);
      if (!e) {
        const entry: Entry = { camera: c };
        this.entries.set(c.id, entry);
        added.push(entry);
      } else if (keyOf(c) !== keyOf(e.camera)) {
        this.replace(e, c);
      }
    }
    if (this.running) this.launch(added);
  }

  status(cameraId: string): CameraStatus | undefined {
    const e = this.entries.get(cameraId);
    if (!e) return undefined;
    if (e.worker) return e.worker.status();
    if (e.cappedSince === undefined)
      return { id: cameraId, state: 'stopped', restarts: 0, since: Date.now() };
    const lastError = capError(this.opts.maxProcesses, `camera ${cameraId}`).message;
    return { id: cameraId, state: 'capped', restarts: 0, since: e.cappedSince, lastError };
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
    return this.track(this.takeSnapshot(cameraId, timeoutMs));
  }

  private async takeSnapshot(cameraId: string, timeoutMs: number): Promise<{ jpeg: Buffer; at: number }> {
    const e = this.entries.get(cameraId);
    const unavailable = (why: string) =>
      new GridgateError('GG_ERR_CAMERA_UNAVAILABLE', `no snapshot of camera ${cameraId}: ${why}`);
    if (!e || !this.running) throw unavailable('camera is not supervised');
    const lease = this.budget.tryAcquire();
    if (!lease)
      throw unavailable(`all ${this.opts.maxProcesses} ffmpeg processes (cameras.maxProcesses) are in use`);
    const scrub = makeScrubber([e.camera.password]);
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
      return await w.refreshReference(REFRESH_TIMEOUT_MS);
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
    for (const e of this.entries.values()) this.retire(e);
    await Promise.allSettled([...this.pending]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const forget = () => this.pending.delete(p);
    this.pending.add(p);
    void p.then(forget, forget);
    return p;
  }

  /**
   * A changed camera keeps its slot: the analysis with the new settings starts once the old one has
   * exited (so the two never run at once, and the cap cannot refuse the change). One without an
   * analysis (capped, or not started) starts with the new settings when it starts.
   */
  private replace(e: Entry, camera: SupervisedCamera): void {
    e.camera = camera;
    const old = e.worker;
    if (!old) return;
    e.worker = undefined;
    void this.track(
      old.stop().finally(() => {
        if (!this.running || !e.lease || e.worker || this.entries.get(camera.id) !== e) return;
        this.log.info({ camera: camera.id }, 'camera settings changed; analysis restarted');
        this.startWorker(e);
      }),
    );
  }

  /** Stops an entry's worker and frees its slot once its process is gone. */
  private retire(e: Entry): void {
    const { worker, lease } = e;
    e.worker = undefined;
    e.lease = undefined;
    e.cappedSince = undefined;
    if (!worker) return void lease?.release();
    void this.track(worker.stop().finally(() => lease?.release()));
  }

  private launch(entries: Entry[]): void {
    const capped: string[] = [];
    for (const e of entries) {
      if (!this.startEntry(e)) capped.push(e.camera.id);
    }
    if (capped.length === 0) return;
    const { message } = capError(this.opts.maxProcesses, `${capped.length} camera(s)`);
    this.log.error({ cameras: capped.slice(0, 20), count: capped.length }, message);
  }

  private startEntry(e: Entry): boolean {
    const lease = this.budget.tryAcquire();
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
    e.worker = new CameraWorker(e.camera, {
      ...this.opts,
      emit: (fields, at) => {
        try {
          this.opts.onReading(e.camera.id, fields, at);
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
    return [...this.entries.values()].flatMap((e) => e.worker?.status().pid ?? []);
  }
}
