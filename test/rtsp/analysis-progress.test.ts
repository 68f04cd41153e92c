import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analysisArgs } from '../../adapters/rtsp/ffmpeg-args.js';
import { type ProgressBlock, ProgressParser } from '../../adapters/rtsp/progress.js';

/**
 * The analysis process's byte count, from the real ffmpeg reading an H.264 stream in real time
 * (`-re`) at 300 kbit/s: past its first 256 KiB (about 7 s), an output that ffmpeg buffers would
 * report the same `total_size` for several periods, and the camera a bit rate of 0.
 */
const dir = mkdtempSync(join(tmpdir(), 'gg-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function encodeStream(seconds: number): string {
  const file = join(dir, 'stream.mkv');
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x180:rate=10',
  ];
  args.push('-t', String(seconds), '-c:v', 'libx264', '-b:v', '300k', '-g', '10', file);
  const r = spawnSync('ffmpeg', args);
  if (r.status !== 0) throw new Error(`ffmpeg could not encode the test stream: ${r.stderr}`);
  return file;
}

describe('the analysis process (ffmpeg-args.ts analysisArgs)', () => {
  it('reports the bytes of a low-rate stream as they arrive, every period', async () => {
    const file = encodeStream(14);
    const input = { args: ['-re', '-i', file], script: '', scrub: (t: string) => t };
    const ff = spawn('ffmpeg', analysisArgs(input, 1), { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    ff.stdout?.resume(); // the keyframes: not looked at here
    let stderr = '';
    ff.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const blocks: ProgressBlock[] = [];
    const parser = new ProgressParser((b) => blocks.push(b));
    (ff.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => parser.push(d.toString()));
    const code = await new Promise<number | null>((resolve) => ff.once('close', resolve));
    expect(code, stderr).toBe(0);

    const running = blocks.filter((b) => !b.end).map((b) => b.totalSize ?? 0);
    expect(running.length).toBeGreaterThanOrEqual(12);
    // From the second period on, each one counts more bytes than the one before.
    const stalled = running.slice(1).filter((size, i) => size <= (running[i] as number));
    expect(stalled, running.join(' ')).toEqual([]);
    expect(running.at(-1)).toBeGreaterThan(300 * 1024);
  }, 40_000);
});
