import type { YuvFrame } from '../../processors/camera/picture.js';
import { encodeJpegArgs, grabJpegArgs } from './ffmpeg-args.js';
import { spawnFfmpeg } from './ffmpeg-child.js';
import { type RtspEndpoint, rtspInput } from './rtsp-input.js';

/** Far larger than the JPEG of any camera's keyframe; output past it is refused, not buffered. */
const MAX_JPEG_BYTES = 16 * 1024 * 1024;

export interface SnapshotLimits {
  timeoutMs: number;
  /** Aborting kills the child (the supervisor's stop()). */
  signal?: AbortSignal;
}

/** A short-lived ffmpeg producing one JPEG on stdout; rejects (scrubbed message) on failure or timeout. */
async function runForJpeg(
  ffmpeg: string,
  args: string[],
  scrub: (s: string) => string,
  limits: SnapshotLimits,
  stdin: string | readonly Buffer[],
): Promise<Buffer> {
  const { timeoutMs, signal } = limits;
  const child = spawnFfmpeg(ffmpeg, args, { scrub, stdin });
  const chunks: Buffer[] = [];
  let bytes = 0;
  let tooLarge = false;
  child.proc.stdout?.on('data', (d: Buffer) => {
    bytes += d.length;
    if (bytes > MAX_JPEG_BYTES) {
      tooLarge = true;
      void child.kill(0);
    } else chunks.push(d);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.kill(200);
  }, timeoutMs);
  const abort = () => void child.kill(0);
  signal?.addEventListener('abort', abort);
  if (signal?.aborted) abort();
  const exit = await child.exited;
  clearTimeout(timer);
  signal?.removeEventListener('abort', abort);
  if (signal?.aborted) throw new Error('camera supervision stopped');
  const jpeg = Buffer.concat(chunks);
  if (timedOut)
    throw new Error(`no picture within ${timeoutMs} ms${child.lastError() ? ` (${child.lastError()})` : ''}`);
  if (tooLarge) throw new Error('picture larger than 16 MB');
  // A JPEG starts with SOI (FF D8) and ends with EOI (FF D9): ITU-T T.81 Annex B.
  const valid =
    jpeg.length > 4 && jpeg[0] === 0xff && jpeg[1] === 0xd8 && jpeg.at(-2) === 0xff && jpeg.at(-1) === 0xd9;
  if (exit.code !== 0 || !valid)
    throw new Error(
      child.lastError() || `ffmpeg exited (code ${exit.code}, signal ${exit.signal}) without a picture`,
    );
  return jpeg;
}

/** JPEG of a kept keyframe. */
export function encodeJpeg(ffmpeg: string, frame: YuvFrame, limits: SnapshotLimits): Promise<Buffer> {
  const header = Buffer.from(`P5\n${frame.width} ${(frame.height * 3) / 2}\n255\n`, 'latin1');
  // Copied now: the analysis reuses the frame's buffer two keyframes later.
  const body = Buffer.from(frame.data);
  return runForJpeg(ffmpeg, encodeJpegArgs(), (s) => s, limits, [header, body]);
}

/** JPEG of the first keyframe a one-shot connection to the camera yields. */
export async function grabJpeg(
  ffmpeg: string,
  camera: RtspEndpoint,
  limits: SnapshotLimits & { ioTimeoutMs: number },
): Promise<Buffer> {
  const input = rtspInput(camera, { ioTimeoutMs: limits.ioTimeoutMs, keyframesOnly: true });
  return runForJpeg(ffmpeg, grabJpegArgs(input), input.scrub, limits, input.script);
}
