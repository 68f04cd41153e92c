import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { liveCopyArgs } from './ffmpeg-args.js';
import { spawnFfmpeg } from './ffmpeg-child.js';
import { type RtspEndpoint, rtspInput } from './rtsp-input.js';

export { terminate } from './ffmpeg-child.js';

/** The camera fields a live relay needs; `CameraStream` (processors/registry) has them. */
export interface LiveCamera extends RtspEndpoint {
  id: string;
  /** Main stream: the live view shows the picture at full quality. */
  url: string;
}

/**
 * The shared cap on ffmpeg processes (CameraSupervisor.acquireProcess): one lease per process,
 * GG_ERR_CAMERA_CAP thrown when none is free. A relay holds two.
 */
export interface LiveBudget {
  acquireProcess(purpose: string): { release(): void };
}

export interface SourceOptions {
  ffmpeg: string;
  /** RTSP socket I/O timeout: a camera that stops answering makes ffmpeg exit. */
  ioTimeoutMs: number;
}

export type SourceProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * The process that reads the camera for a live view (ffmpeg-args.ts liveCopyArgs), opened like
 * every camera ffmpeg: its RTSP input through rtsp-input.ts (no credentials in argv), spawned
 * through ffmpeg-child.ts (it dies with the gateway). Throws before spawning when the url cannot
 * be given to ffmpeg.
 */
export function spawnSource(cam: LiveCamera, opts: SourceOptions): SourceProcess {
  const input = rtspInput(cam, { ioTimeoutMs: opts.ioTimeoutMs });
  const child = spawnFfmpeg(opts.ffmpeg, liveCopyArgs(input), { scrub: input.scrub, stdin: input.script });
  // Every stdio is a pipe (stdin carries the script): the shape the relay reads.
  return child.proc as SourceProcess;
}
