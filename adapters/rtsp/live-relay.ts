import type { Logger } from 'pino';
import { liveCopyArgs } from './ffmpeg-args.js';
import { type FfmpegChild, spawnFfmpeg, terminate } from './ffmpeg-child.js';
import { type Mpeg1Muxer, openMuxer } from './live-muxer.js';
import { TsPacketizer } from './live-ts.js';
import { type RtspEndpoint, rtspInput } from './rtsp-input.js';
import { makeScrubber } from './scrub.js';

/** What a relay needs of a camera (url: its main stream); `CameraStream` (processors/registry) fits. */
export interface LiveCamera extends RtspEndpoint {
  id: string;
}

/**
 * The shared cap on ffmpeg processes (CameraSupervisor.acquireProcess): one lease per process,
 * GG_ERR_CAMERA_CAP thrown when none is free. A relay holds two.
 */
export interface LiveBudget {
  acquireProcess(purpose: string): { release(): void };
}

/** What a relay sends to: a `ws` WebSocket fits. */
export interface LiveViewer {
  send(data: Buffer): void;
  /** Bytes queued and not yet written to the socket. */
  readonly bufferedAmount: number;
}

export interface LiveRelayOptions {
  camera: LiveCamera;
  ffmpeg: string;
  budget: LiveBudget;
  logger: Logger;
  /** No bytes from the camera or the encoder for this long: the relay restarts. Default 5000. */
  stallMs?: number;
  /** Restart delay after a loss, doubling from initialMs to maxMs; reset once pictures flow. */
  backoff?: { initialMs: number; maxMs: number };
}

export type RelayState = 'starting' | 'running' | 'waiting' | 'stopped';

export interface RelayStatus {
  camera: string;
  state: RelayState;
  viewers: number;
  restarts: number;
  /** ffmpeg processes of the current attempt. */
  pids: number[];
  bytesOut: number;
  /** Why the last attempt ended, credentials scrubbed. */
  lastError?: string;
}

const ENCODER = { fps: 25, bitrateKbps: 1000, maxWidth: 1280 };
/** A viewer with more than this queued is skipped: a slow link must not hold the others. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const PROCESSES = 2;
const STDERR_KEEP = 2000;

interface Attempt {
  source: FfmpegChild;
  muxer: Mpeg1Muxer;
  lastIn: number;
  lastOut: number;
  /** The newest of what the encoder wrote to stderr (the source keeps its own last lines). */
  encoderStderr: string;
  ended: boolean;
}

/**
 * One camera's live view: gridgate's source ffmpeg (RTSP in, video copied to Matroska) piped into
 * node-rtsp-stream's Mpeg1Muxer (that copy in on stdin, MPEG-1 in MPEG-TS out for JSMpeg), its
 * output cut at 188-byte packet boundaries and sent to every viewer. When the source ends or
 * stalls, both processes are replaced after a backoff while viewers stay connected: JSMpeg picks
 * up the new stream at its next sequence header. Holds two slots of the process budget from
 * start() to stop().
 */
export class LiveRelay {
  readonly id: string;
  private camera: LiveCamera;
  private readonly opts: LiveRelayOptions;
  private readonly log: Logger;
  /** Who gets the stream; LiveHub adds and removes them. */
  readonly viewers = new Set<LiveViewer>();
  private readonly packets = new TsPacketizer();
  private readonly stallMs: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private attempt: Attempt | undefined;
  private state: RelayState = 'stopped';
  private readonly leases: { release(): void }[] = [];
  private scrub: (text: string) => string;
  private restarts = 0;
  private failures = 0;
  private bytesOut = 0;
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  /** Processes of ended attempts still being terminated; stop() waits for them too. */
  private readonly dying = new Set<Promise<void>>();

  constructor(opts: LiveRelayOptions) {
    this.opts = opts;
    this.camera = opts.camera;
    this.id = opts.camera.id;
    this.scrub = makeScrubber([opts.camera.password]);
    this.log = opts.logger.child({ camera: this.id });
    this.stallMs = opts.stallMs ?? 5000;
    this.backoff = opts.backoff ?? { initialMs: 500, maxMs: 10_000 };
  }

  /** Takes the budget and starts the processes; throws GG_ERR_CAMERA_CAP when the budget is spent. */
  start(): void {
    try {
      while (this.leases.length < PROCESSES) {
        this.leases.push(this.opts.budget.acquireProcess(`live view ${this.id}`));
      }
    } catch (err) {
      this.releaseBudget();
      throw err;
    }
    this.state = 'starting';
    this.watchdog = setInterval(() => this.check(), Math.min(1000, this.stallMs / 2));
    this.watchdog.unref();
    this.launch();
    this.log.info('live relay started');
  }

  /** The camera's url or credentials changed: the next attempt uses the new ones. */
  reconfigure(camera: LiveCamera): void {
    const keys = ['url', 'username', 'password', 'transport'] as const;
    const changed = keys.some((k) => this.camera[k] !== camera[k]);
    this.scrub = makeScrubber([this.camera.password, camera.password]);
    this.camera = camera;
    if (changed && this.attempt) this.end(this.attempt, 'camera settings changed');
  }

  status(): RelayStatus {
    const a = this.attempt;
    const pids = a ? [a.source.pid, a.muxer.stream.pid] : [];
    return {
      camera: this.id,
      state: this.state,
      viewers: this.viewers.size,
      restarts: this.restarts,
      pids: pids.filter((p): p is number => p !== undefined),
      bytesOut: this.bytesOut,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Kills both processes, waits for them, and gives the budget back. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.retryTimer);
      clearInterval(this.watchdog);
      const a = this.attempt;
      this.attempt = undefined;
      if (a) {
        a.ended = true;
        void this.kill(a);
      }
      await Promise.all([...this.dying]);
      this.state = 'stopped';
      this.releaseBudget();
      this.log.info({ restarts: this.restarts }, 'live relay stopped');
    })();
    return this.stopping;
  }

  private releaseBudget(): void {
    for (const lease of this.leases.splice(0)) lease.release();
  }

  private launch(): void {
    let source: FfmpegChild | undefined;
    let muxer: Mpeg1Muxer;
    try {
      const input = rtspInput(this.camera, { ioTimeoutMs: this.stallMs });
      // Its stderr is scrubbed line by line, the input named by the camera's url, not `pipe:0`.
      source = spawnFfmpeg(this.opts.ffmpeg, liveCopyArgs(input), {
        scrub: input.scrub,
        stdin: input.script,
      });
      muxer = openMuxer({ ...ENCODER, ffmpeg: this.opts.ffmpeg });
    } catch (err) {
      // Thrown before any process ran (a url ffmpeg cannot be given, an argument spawn refuses):
      // stays in the retry loop, so fixing the camera record brings the view back.
      if (source) void this.track(source.kill());
      this.retryLater(this.scrub(`relay did not start: ${(err as Error).message}`));
      return;
    }
    const now = Date.now();
    const a: Attempt = { source, muxer, lastIn: now, lastOut: now, encoderStderr: '', ended: false };
    this.attempt = a;
    this.state = 'starting';
    this.packets.reset();

    void source.exited.then(({ code, signal }) =>
      this.end(a, `camera stream ended (ffmpeg ${signal ?? `exit ${code}`})`),
    );
    const copy = source.proc.stdout!;
    copy.on('data', () => {
      a.lastIn = Date.now();
    });
    copy.pipe(muxer.stream.stdin, { end: false });

    muxer.stream.on('error', (err) => this.end(a, `encoder did not start: ${err.message}`));
    muxer.stream.on('exit', (code, signal) =>
      this.end(a, `encoder ended (ffmpeg ${signal ?? `exit ${code}`})`),
    );
    muxer.stream.stdin.on('error', () => {}); // EPIPE when the encoder died first: its exit says why
    muxer.on('ffmpegStderr', (d: Buffer) => {
      a.encoderStderr = (a.encoderStderr + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    muxer.on('mpeg1data', (chunk: Buffer) => {
      if (a.ended) return;
      a.lastOut = Date.now();
      const packets = this.packets.push(chunk);
      if (packets) this.broadcast(packets);
    });
  }

  private broadcast(data: Buffer): void {
    if (this.state !== 'running') {
      this.state = 'running';
      this.failures = 0;
      this.log.info({ viewers: this.viewers.size }, 'live relay streaming');
    }
    this.bytesOut += data.length;
    for (const v of this.viewers) {
      if (v.bufferedAmount > MAX_QUEUED_BYTES) continue;
      try {
        v.send(data);
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'live viewer send failed');
      }
    }
  }

  /** Watchdog: a camera that stops sending without closing the connection is a loss too. */
  private check(): void {
    const a = this.attempt;
    if (!a) return;
    const now = Date.now();
    // Before the first picture, the connect and the encoder's stream probing get extra time.
    const grace = this.state === 'running' ? 0 : this.stallMs;
    if (now - a.lastIn > this.stallMs + grace) this.end(a, `no data from the camera for ${this.stallMs} ms`);
    else if (now - a.lastOut > this.stallMs + grace)
      this.end(a, `no output from the encoder for ${this.stallMs} ms`);
  }

  /** Ends an attempt once (either process exiting, a stall, or a change), then retries after a backoff. */
  private end(a: Attempt, reason: string): void {
    if (a.ended) return;
    a.ended = true;
    if (this.attempt === a) this.attempt = undefined;
    // The camera's account last: it is the usual cause.
    const said = [...a.encoderStderr.split('\n'), ...a.source.lastLines()].map((l) => l.trim());
    const detail = said.filter(Boolean).slice(-3).join(' | ');
    this.lastError = this.scrub(detail ? `${reason}: ${detail}` : reason);
    void this.kill(a).then(() => this.retryLater(this.lastError!));
  }

  private kill(a: Attempt): Promise<void> {
    return this.track(Promise.all([a.source.kill(), terminate(a.muxer.stream)]));
  }

  /** Ending processes, until they have exited: stop() waits for them too. */
  private track(exited: Promise<unknown>): Promise<void> {
    const p = exited.then(() => {
      this.dying.delete(p);
    });
    this.dying.add(p);
    return p;
  }

  private retryLater(reason: string): void {
    if (this.stopping) return;
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.failures);
    this.failures++;
    this.restarts++;
    this.state = 'waiting';
    this.lastError = reason;
    this.log.warn(
      { reason, retryInMs: delay, viewers: this.viewers.size },
      'live relay lost its stream; restarting',
    );
    this.retryTimer = setTimeout(() => this.launch(), delay);
  }
}
