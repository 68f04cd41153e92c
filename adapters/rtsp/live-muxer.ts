import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

/**
 * node-rtsp-stream's Mpeg1Muxer, typed. It spawns
 * `<ffmpegPath> -i <url> -f mpegts -codec:v mpeg1video <ffmpegOptions...> -` and emits
 * `mpeg1data` (stdout chunks) and `ffmpegStderr`. Only this module is loaded: the package's index
 * also loads its VideoStream, whose WebSocket server binds every interface with no authentication.
 *
 * What the package does not do, and the caller must: options placed before `-i` (its
 * ffmpegOptions land after it), an output rate MPEG-1 can encode (it cannot do 15 fps),
 * noticing a dead source, and handling the child's `error` event (a missing binary would
 * otherwise throw from an unhandled `error`). Its own `exit` listener prints to the console on
 * exit code 1, so `openMuxer` removes it; test/rtsp/live-muxer.test.ts pins these behaviours.
 */
export interface Mpeg1Muxer extends EventEmitter {
  stream: ChildProcessWithoutNullStreams;
  spawnOptions: string[];
}

interface Mpeg1MuxerCtor {
  new (options: {
    url: string;
    ffmpegPath: string;
    ffmpegOptions?: Record<string, string | number>;
  }): Mpeg1Muxer;
}

const require = createRequire(import.meta.url);
const Mpeg1MuxerClass = require('node-rtsp-stream/mpeg1muxer.js') as Mpeg1MuxerCtor;

export interface MuxerOptions {
  ffmpeg: string;
  /** Encoder output rate; MPEG-1 allows 23.976, 24, 25, 29.97, 30, 50, 59.94, 60 (ISO/IEC 11172-2 §2.4.3.2). */
  fps: number;
  bitrateKbps: number;
  /** Pictures wider than this are scaled down (MPEG-1 software decoding in the browser is the cost). */
  maxWidth: number;
}

/** MPEG-1 picture rates (ISO/IEC 11172-2 §2.4.3.2, picture_rate), as whole frames per second. */
const MPEG1_RATES: readonly number[] = [24, 25, 30, 50, 60];

/**
 * Starts the package's ffmpeg reading the camera's stream from its stdin (`pipe:0`): gridgate's own source
 * process writes the camera's stream there, so the RTSP url and its credentials never reach this
 * process's arguments or stderr.
 */
export function openMuxer(opts: MuxerOptions): Mpeg1Muxer {
  if (!MPEG1_RATES.includes(opts.fps)) {
    throw new RangeError(`MPEG-1 cannot encode ${opts.fps} fps; use one of ${MPEG1_RATES.join(', ')}`);
  }
  const muxer = new Mpeg1MuxerClass({
    url: 'pipe:0',
    ffmpegPath: opts.ffmpeg,
    // Global options are accepted after -i too; -an: JSMpeg plays MPEG-1 video, the camera's audio is dropped.
    ffmpegOptions: {
      '-hide_banner': '',
      '-nostats': '',
      '-loglevel': 'error',
      '-an': '',
      '-vf': `scale=w='min(${opts.maxWidth},iw)':h=-2`,
      '-r': opts.fps,
      '-b:v': `${opts.bitrateKbps}k`,
      // JSMpeg decodes I and P pictures only.
      '-bf': 0,
      // Each packet leaves at once: a viewer is waiting for it.
      '-flush_packets': 1,
    },
  });
  // Replaces the package's listener, which writes to the console on exit code 1.
  muxer.stream.removeAllListeners('exit');
  return muxer;
}
