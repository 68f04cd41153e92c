import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  analyseKeyframe,
  isGoodReference,
  type KeyframeAnalysis,
  referenceFrom,
} from '../../processors/camera/analyse.js';
import type { SmallLuma, YuvFrame } from '../../processors/camera/picture.js';
import type { CameraReference } from '../../processors/camera/reference.js';
import { analysisArgs } from './ffmpeg-args.js';
import { type FfmpegChild, spawnFfmpeg } from './ffmpeg-child.js';
import { PgmYuvReader } from './pgmyuv-reader.js';
import { type ProgressBlock, ProgressParser, rates } from './progress.js';
import { rtspInput } from './rtsp-input.js';
import { makeScrubber } from './scrub.js';
import type { CameraState, CameraStatus, CameraSupervisorOptions, SupervisedCamera } from './types.js';

/** The supervisor's settings, and where this camera's readings go. */
export interface WorkerSettings extends Omit<CameraSupervisorOptions, 'maxProcesses' | 'onReading'> {
  emit(fields: Record<string, number>, at: number): void;
}

/** The newest analysed keyframe, kept for snapshots. */
export interface KeptFrame {
  frame: YuvFrame;
  at: number;
}

/** Online this long without a failure resets the backoff to its initial delay. */
const STABLE_MS = 30_000;

interface PendingRefresh {
  resolve(r: { at: number }): void;
  reject(err: Error): void;
}

/**
 * One camera's analysis: runs its ffmpeg (ffmpeg-args.ts analysisArgs), turns progress blocks and
 * keyframes into readings, and restarts the process with exponential backoff when it exits,
 * cannot connect, or stops making progress for stallS (the watchdog).
 */
export class CameraWorker {
  readonly scrub: (s: string) => string;
  private readonly log: Logger;
  private state: CameraState = 'stopped';
  private since = Date.now();
  private child: FfmpegChild | undefined;
  private failures = 0;
  private restarts = 0;
  private lastError: string | undefined;
  private stalled = false;
  /** Why this run's output was rejected (malformed frames), if it was. */
  private runError: string | undefined;
  private stopping = false;
  private timers: { watchdog?: NodeJS.Timeout; restart?: NodeJS.Timeout; offline?: NodeJS.Timeout } = {};
  private nextRestartAt: number | undefined;
  // Per run: progress and keyframes.
  private lastBlock: { block: ProgressBlock; t: number } | undefined;
  private lastAdvanceAt = 0;
  private onlineSince = 0;
  private rate: { fps: number; bitrate_kbps: number } | undefined;
  private prevSmall: SmallLuma | undefined;
  private latest: (KeptFrame & { analysis: KeyframeAnalysis }) | undefined;
  // Reference frame: undefined while loading from the store, null when there is none.
  private reference: CameraReference | null | undefined;
  private refreshes: PendingRefresh[] = [];

  constructor(
    readonly camera: SupervisedCamera,
    private readonly s: WorkerSettings,
  ) {
    // The password is the secret; ffmpeg also echoes the whole userinfo, which the scrubber masks.
    this.scrub = makeScrubber([camera.password]);
    this.log = s.logger.child({ camera: camera.id });
  }

  start(): void {
    this.s.references.get(this.camera.id).then(
      (r) => {
        // A refresh may have taken one while the store answered.
        if (this.reference === undefined) this.reference = r ?? null;
      },
      (err: Error) => {
        this.log.warn(
          { err: err.message },
          'camera reference could not be loaded; scene measures wait for it',
        );
      },
    );
    this.spawn();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of Object.values(this.timers)) clearTimeout(t);
    for (const r of this.refreshes.splice(0)) r.reject(new Error('camera supervision stopped'));
    const c = this.child;
    this.child = undefined;
    if (c) await c.kill();
    this.enter('stopped');
  }

  status(): CameraStatus {
    return {
      id: this.camera.id,
      state: this.state,
      pid: this.child?.pid,
      restarts: this.restarts,
      lastError: this.lastError,
      since: this.since,
      fps: this.state === 'online' ? this.rate?.fps : undefined,
      bitrateKbps: this.state === 'online' ? this.rate?.bitrate_kbps : undefined,
      lastKeyframeAt: this.latest?.at,
      referenceAt: this.reference?.at,
      nextRestartAt: this.state === 'offline' ? this.nextRestartAt : undefined,
    };
  }

  /** The newest analysed keyframe, while this run is delivering. */
  keptFrame(): KeptFrame | undefined {
    return this.state === 'online' ? this.latest : undefined;
  }

  /** Makes the next keyframe the reference (the installer's "this is the right scene"). */
  refreshReference(timeoutMs: number): Promise<{ at: number }> {
    let entry: PendingRefresh | undefined;
    let timer: NodeJS.Timeout | undefined;
    return new Promise<{ at: number }>((resolve, reject) => {
      entry = { resolve, reject };
      this.refreshes.push(entry);
      timer = setTimeout(() => {
        const why = this.lastError ? `${this.state}: ${this.lastError}` : this.state;
        reject(new Error(`no keyframe within ${timeoutMs} ms (${why})`));
      }, timeoutMs);
    }).finally(() => {
      clearTimeout(timer);
      this.refreshes = this.refreshes.filter((r) => r !== entry);
    });
  }

  private spawn(): void {
    const cam = this.camera;
    let child: FfmpegChild;
    try {
      const input = rtspInput(
        { ...cam, url: cam.subUrl ?? cam.url },
        { ioTimeoutMs: this.s.connectTimeoutS * 1000, keyframesOnly: true },
      );
      child = spawnFfmpeg(this.s.ffmpeg, analysisArgs(input, this.s.statsIntervalS), {
        scrub: input.scrub,
        stdin: input.script,
        extraFd: true,
      });
    } catch (err) {
      // Before any process ran (a url ffmpeg cannot be given): the retry loop keeps going, so a
      // corrected camera record brings the camera back.
      this.failed(this.scrub(`analysis did not start: ${(err as Error).message}`));
      return;
    }
    this.child = child;
    this.stalled = false;
    this.runError = undefined;
    this.lastBlock = undefined;
    this.rate = undefined;
    this.prevSmall = undefined;
    this.latest = undefined;
    this.lastAdvanceAt = Date.now();
    if (this.state !== 'offline') this.enter('starting');
    this.log.debug({ pid: child.pid }, 'camera analysis started');

    const progress = new ProgressParser((b) => this.onProgress(child, b));
    const frames = new PgmYuvReader(
      (f) => this.onKeyframe(child, f),
      (msg) => {
        this.runError = `unreadable analysis output: ${msg}`;
        void child.kill(0);
      },
    );
    const fd3 = child.proc.stdio[3] as Readable | null;
    fd3?.setEncoding('utf8');
    fd3?.on('data', (d: string) => progress.push(d));
    child.proc.stdout?.on('data', (d: Buffer) => frames.push(d));

    const checkEveryMs = Math.max(250, Math.min(1000, (this.s.stallS * 1000) / 4));
    this.timers.watchdog = setInterval(() => {
      if (this.child !== child || Date.now() - this.lastAdvanceAt < this.s.stallS * 1000) return;
      this.stalled = true;
      void child.kill(500);
    }, checkEveryMs);

    void child.exited.then(({ code, signal }) => this.onExit(child, code, signal));
  }

  private onProgress(child: FfmpegChild, b: ProgressBlock): void {
    if (this.child !== child) return;
    const now = Date.now();
    const prev = this.lastBlock;
    this.lastBlock = { block: b, t: now };
    const advanced = prev ? b.frame > prev.block.frame : b.frame > 0;
    if (!advanced) return;
    this.lastAdvanceAt = now;
    if (prev) this.rate = rates(prev.block, b, now - prev.t);
    if (this.state !== 'online') {
      this.log.info({ pid: child.pid, restarts: this.restarts }, 'camera online');
      this.lastError = undefined;
      this.onlineSince = now;
      clearInterval(this.timers.offline);
      this.enter('online');
    } else if (this.failures > 0 && now - this.onlineSince >= STABLE_MS) {
      this.failures = 0;
    }
    const fields: Record<string, number> = { online: 1, ...this.rate };
    // A keyframe older than the stall bound says nothing about the picture now.
    if (this.latest && now - this.latest.at <= this.s.stallS * 1000) {
      for (const [k, v] of Object.entries(this.latest.analysis.fields)) if (v !== undefined) fields[k] = v;
    }
    this.s.emit(fields, now);
  }

  private onKeyframe(child: FfmpegChild, frame: YuvFrame): void {
    if (this.child !== child) return;
    const at = Date.now();
    const ref = this.reference ?? undefined;
    const analysis = analyseKeyframe(frame, this.prevSmall, ref);
    this.prevSmall = analysis.small;
    this.latest = { analysis, frame, at };
    const refresh = this.refreshes.length > 0;
    const commission = this.reference === null && isGoodReference(analysis.fields);
    if (refresh || commission) this.takeReference(analysis, at, refresh);
  }

  private takeReference(analysis: KeyframeAnalysis, at: number, refresh: boolean): void {
    const ref = referenceFrom(analysis, at);
    this.reference = ref;
    const waiting = this.refreshes.splice(0);
    this.s.references.put(this.camera.id, ref).then(
      () => {
        this.log.info({ at, refresh }, refresh ? 'camera reference replaced' : 'camera reference taken');
        for (const r of waiting) r.resolve({ at });
      },
      (err: Error) => {
        this.log.warn({ err: err.message }, 'camera reference could not be stored');
        for (const r of waiting) r.reject(err);
      },
    );
  }

  private onExit(child: FfmpegChild, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    clearInterval(this.timers.watchdog);
    if (this.stopping) return;
    const said = child.lastError();
    if (this.stalled) this.failed(`no frames for ${this.s.stallS} s (stalled)`);
    else if (this.runError) this.failed(this.runError);
    else if (said) this.failed(`ffmpeg: ${said}`);
    else this.failed(`ffmpeg exited (code ${code}, signal ${signal})`);
  }

  /** A run ended or could not start: offline, and the next run after the backoff. */
  private failed(why: string): void {
    this.lastError = why;
    const delayS = Math.min(this.s.backoff.maxS, this.s.backoff.initialS * 2 ** this.failures);
    this.failures++;
    this.restarts++;
    this.nextRestartAt = Date.now() + delayS * 1000;
    // One warning per loss (and for a camera unreachable from the start); retries log at debug.
    const lost = this.state !== 'offline';
    this.enter('offline');
    if (lost) this.log.warn({ reason: why, retryInS: delayS }, 'camera offline');
    else this.log.debug({ reason: why, retryInS: delayS }, 'camera still offline');
    // `online: 0` at once, then every stats interval until a run delivers again.
    const offline = () => this.s.emit({ online: 0 }, Date.now());
    offline();
    clearInterval(this.timers.offline);
    this.timers.offline = setInterval(offline, this.s.statsIntervalS * 1000);
    this.timers.restart = setTimeout(() => this.spawn(), delayS * 1000);
  }

  private enter(state: CameraState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = Date.now();
  }
}
