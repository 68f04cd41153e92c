/**
 * ffmpeg's `-progress` output: blocks of `key=value` lines, each ended by `progress=continue` (or
 * `end`), written every `-stats_period` seconds while ffmpeg runs. In ffmpeg 5.1 `frame` counts
 * the frames of the first video output stream (here the stream copy, i.e. every frame received,
 * not only the decoded keyframes) and `total_size` the bytes written to the first output file
 * (the copied stream), so their deltas give the received fps and bit rate.
 */
export interface ProgressBlock {
  frame: number;
  /** Bytes of the copied stream so far; undefined when ffmpeg reports N/A. */
  totalSize: number | undefined;
  end: boolean;
}

const MAX_LINE = 256;

export class ProgressParser {
  private partial = '';
  private current = new Map<string, string>();

  constructor(private readonly onBlock: (b: ProgressBlock) => void) {}

  push(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = (lines.pop() ?? '').slice(-MAX_LINE);
    for (const raw of lines) {
      const line = raw.trim();
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).trim();
      if (key !== 'progress') {
        // Only the keys used are kept, so a misbehaving stream cannot grow the map.
        if (key === 'frame' || key === 'total_size') this.current.set(key, value);
        continue;
      }
      const num = (k: string) => {
        const v = Number(this.current.get(k));
        return Number.isFinite(v) ? v : undefined;
      };
      this.onBlock({
        frame: num('frame') ?? 0,
        totalSize: num('total_size'),
        end: value === 'end',
      });
      this.current.clear();
    }
  }
}

/** fps and kbps between two progress blocks `dtMs` apart (wall clock: what the camera delivers now). */
export function rates(
  prev: ProgressBlock,
  cur: ProgressBlock,
  dtMs: number,
): { fps: number; bitrate_kbps: number } {
  const dt = dtMs / 1000;
  if (dt <= 0) return { fps: 0, bitrate_kbps: 0 };
  const frames = Math.max(0, cur.frame - prev.frame);
  const bytes =
    cur.totalSize !== undefined && prev.totalSize !== undefined
      ? Math.max(0, cur.totalSize - prev.totalSize)
      : 0;
  return {
    fps: Math.round((frames / dt) * 100) / 100,
    bitrate_kbps: Math.round((bytes * 8) / dt / 10) / 100,
  };
}
