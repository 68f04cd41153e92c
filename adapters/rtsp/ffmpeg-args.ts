import type { RtspInput } from './rtsp-input.js';

/**
 * ffmpeg command lines. Every run is quiet (`-loglevel error -nostats -hide_banner -nostdin`):
 * stderr then holds only errors, which are scrubbed of credentials before anyone sees them. A
 * camera is read through its RtspInput (rtsp-input.ts), so no url or credential is in argv.
 */
const QUIET = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'];

/** Largest analysed width: enough for a readable snapshot; the measures downsample further. */
export const ANALYSIS_MAX_WIDTH = 640;

/**
 * The analysis process of one camera: two outputs from one input.
 * 1. The video stream copied (no decoding) into /dev/null through the `rawvideo` muxer, which
 *    takes any codec (H.264 or H.265). As the first output it is what `-progress` counts: `frame`
 *    = frames received, `total_size` = bytes received (the `null` muxer would report N/A), each
 *    packet written through so that the count is current.
 *    Progress goes to fd 3 every statsIntervalS.
 * 2. The decoded keyframes, scaled down to ANALYSIS_MAX_WIDTH (area averaging: cheap and alias-free),
 *    as self-delimiting pgmyuv images on stdout; `-fps_mode passthrough` so that nothing is
 *    duplicated to fill the gaps between keyframes.
 * The input decodes keyframes only (RtspInput keyframesOnly).
 */
export function analysisArgs(input: RtspInput, statsIntervalS: number): string[] {
  return [
    ...QUIET,
    '-progress',
    'pipe:3',
    '-stats_period',
    String(statsIntervalS),
    ...input.args,
    '-map',
    '0:v:0',
    '-c',
    'copy',
    // Packet numbers as timestamps: RTP timestamps from cameras (and the simulator) are often not
    // monotonic at keyframes, and the muxer reports each such packet at error level, which would
    // flood stderr and bury the real error. This output is only counted, so its timing is moot.
    '-bsf:v',
    'setts=ts=N',
    // Written through at once: ffmpeg otherwise buffers this output in large blocks, and
    // `total_size` then stands still for many periods of a low-rate stream and jumps after (a bit
    // rate of 0, then many times the real one).
    '-flush_packets',
    '1',
    '-f',
    'rawvideo',
    '-y',
    '/dev/null',
    '-map',
    '0:v:0',
    '-fps_mode',
    'passthrough',
    '-filter_threads',
    '1',
    '-vf',
    `scale='trunc(min(${ANALYSIS_MAX_WIDTH},iw)/2)*2':-2:flags=area,format=yuv420p`,
    '-c:v',
    'pgmyuv',
    '-f',
    'image2pipe',
    'pipe:1',
  ];
}

/** The first frame, as one JPEG on stdout. */
const JPEG_OUT = ['-frames:v', '1', '-q:v', '4', '-f', 'mjpeg', 'pipe:1'];

/** JPEG of one pgmyuv frame read from stdin. */
export function encodeJpegArgs(): string[] {
  return [...QUIET, '-f', 'image2pipe', '-c:v', 'pgmyuv', '-i', 'pipe:0', ...JPEG_OUT];
}

/** JPEG of the first keyframe the camera sends (its main stream: evidence wants resolution). */
export function grabJpegArgs(input: RtspInput): string[] {
  return [...QUIET, ...input.args, '-map', '0:v:0', ...JPEG_OUT];
}

/**
 * The live view's camera reader: the first video stream copied without decoding to stdout, which
 * the relay writes into the MPEG-1 encoder's stdin.
 *
 * The copy is Matroska, not MPEG-TS: its header carries the codec setup and the frame rate, so the
 * encoder's stream probe ends at the first frames. On MPEG-TS the probe has to measure the frame
 * rate from the packets (libavformat's fpsprobesize), which takes seconds at a camera's frame
 * rate, and the encoder's input options, where that could be turned off, are out of reach
 * (node-rtsp-stream places its options after -i). Clusters are cut short so the copy leaves in
 * small pieces (a cluster is written when it closes).
 */
export function liveCopyArgs(input: RtspInput): string[] {
  return [
    ...QUIET,
    ...input.args,
    '-map',
    '0:v:0',
    '-c',
    'copy',
    '-f',
    'matroska',
    '-live',
    '1',
    '-cluster_time_limit',
    '100',
    '-flush_packets',
    '1',
    'pipe:1',
  ];
}
