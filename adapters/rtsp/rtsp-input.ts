import { makeScrubber, urlWithCredentials } from './scrub.js';

/** Where and how to reach one camera stream; the registry's `CameraStream` fits. */
export interface RtspEndpoint {
  /** The stream's URL, without credentials (the registry moves them into username/password). */
  url: string;
  username?: string;
  /** SECRET: reaches ffmpeg on its stdin only. */
  password?: string;
  transport: 'tcp' | 'udp';
}

export interface RtspInputOptions {
  /** RTSP socket I/O timeout: a camera that connects and then stays silent makes ffmpeg exit. */
  ioTimeoutMs: number;
  /** Decode keyframes only, on one thread (analysis and snapshots); a copied stream is not decoded. */
  keyframesOnly?: boolean;
}

/** An RTSP input for one ffmpeg: its arguments, what the child reads on stdin, and its scrubber. */
export interface RtspInput {
  /** The input options and `-i pipe:0`: neither the URL nor the credentials. */
  readonly args: readonly string[];
  /** The ffconcat script to write to the child's stdin. */
  readonly script: string;
  /**
   * For the child's stderr: credentials masked, and `pipe:0` (how ffmpeg names this input in its
   * errors, e.g. `pipe:0: Connection refused`) replaced by the URL without credentials.
   */
  scrub(text: string): string;
}

// The protocols an RTSP url may use: `pipe` reads the script, and the rest carry RTSP (RTP over
// UDP or TCP, RTSPS over TLS). `file` is not among them, so the script cannot name a local file.
const PROTOCOLS = 'pipe,rtsp,rtsps,rtp,srtp,tcp,udp,tls,crypto,data';

/**
 * Bounded stream probing, for the script's RTSP demuxer and again for the concat demuxer around it:
 * the frame rate comes from the camera's SDP and SPS (fpsprobesize 0: no waiting for frames to
 * measure it), and with keyframes only the probe would otherwise read on to the default
 * analyzeduration before any output starts (longer than a short stallS).
 */
const PROBE: readonly [string, string][] = [
  ['fpsprobesize', '0'],
  ['analyzeduration', '1000000'],
];

/**
 * How every camera ffmpeg opens its RTSP input. The url with its credentials travels on stdin as a
 * one-entry ffconcat script (FFmpeg formats documentation, "concat": `file`, `option`), never in
 * argv, which every local user can read through ps or /proc/<pid>/cmdline. The script is parsed
 * as a file list, so `-safe 0` admits a url. The RTSP demuxer's own options (transport, timeout,
 * probing) are `option` lines, as they belong to the inner input; decoder options (-skip_frame,
 * -threads) stay in argv, as ffmpeg's decoder reads the concat demuxer's stream.
 */
export function rtspInput(ep: RtspEndpoint, o: RtspInputOptions): RtspInput {
  const script = ffconcatScript(ep, o.ioTimeoutMs);
  const masked = makeScrubber([ep.password]);
  return {
    args: [
      '-protocol_whitelist',
      PROTOCOLS,
      ...PROBE.flatMap(([k, v]) => [`-${k}`, v]),
      ...(o.keyframesOnly
        ? [
            // Keyframes only: the decoder is the cost per camera; the rest of the GOP is never decoded.
            '-skip_frame',
            'nokey',
            // One decoder thread: frame threading (cores + 1 threads by default) buys nothing for
            // one small keyframe a second and costs threads and frame buffers in every process.
            '-threads',
            '1',
          ]
        : []),
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      'pipe:0',
    ],
    script,
    // The url as the registry keeps it (credentials moved out); were any left, masked shows `***@`.
    scrub: (text) => masked(text.replace(/^pipe:0:/, `${ep.url}:`)),
  };
}

/** `ffconcat version 1.0` with the camera url and its RTSP demuxer options (FFmpeg "rtsp" options). */
export function ffconcatScript(ep: RtspEndpoint, ioTimeoutMs: number): string {
  return [
    'ffconcat version 1.0',
    // Through the URL parser even without credentials: it drops tabs and line breaks, which would
    // otherwise end the `file` line and start a directive of the url's choosing.
    `file ${quote(urlWithCredentials(new URL(ep.url).toString(), ep.username, ep.password))}`,
    `option rtsp_transport ${ep.transport}`,
    // Microseconds (ffmpeg ≥ 5.0; `stimeout` before): the socket I/O timeout after which a silent
    // camera makes ffmpeg exit instead of blocking forever.
    `option timeout ${Math.round(ioTimeoutMs * 1000)}`,
    ...PROBE.map(([k, v]) => `option ${k} ${v}`),
    '',
  ].join('\n');
}

/** ffmpeg's quoting (av_get_token): nothing is special inside '...'; a quote is written '\''. */
function quote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}
