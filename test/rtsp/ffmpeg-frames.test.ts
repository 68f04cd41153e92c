import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { encodeJpegArgs } from '../../adapters/rtsp/ffmpeg-args.js';
import { PgmYuvReader } from '../../adapters/rtsp/pgmyuv-reader.js';
import { ProgressParser, rates } from '../../adapters/rtsp/progress.js';
import { makeScrubber, urlWithCredentials } from '../../adapters/rtsp/scrub.js';
import { encodeJpeg } from '../../adapters/rtsp/snapshot-grab.js';
import { analyseKeyframe, referenceFrom } from '../../processors/camera/analyse.js';
import type { YuvFrame } from '../../processors/camera/picture.js';
import { seededRandom } from '../support/random.js';

/**
 * Frames decoded by the real ffmpeg, through the same scale/format chain and pgmyuv output as the
 * analysis process, measured by the same code.
 */
function decode(source: string, filters = '', count = 1): Promise<YuvFrame[]> {
  const vf = `${filters ? `${filters},` : ''}scale='trunc(min(640,iw)/2)*2':-2:flags=area,format=yuv420p`;
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    source,
    '-frames:v',
    String(count),
  ];
  const proc = spawn('ffmpeg', [...args, '-vf', vf, '-c:v', 'pgmyuv', '-f', 'image2pipe', 'pipe:1']);
  const frames: YuvFrame[] = [];
  let error = '';
  const reader = new PgmYuvReader(
    (f) => frames.push({ ...f, data: f.data.slice() }),
    (m) => {
      error = m;
    },
  );
  proc.stdout.on('data', (d: Buffer) => reader.push(d));
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  return new Promise((resolve, reject) =>
    proc.once('exit', (code) =>
      code === 0 && !error ? resolve(frames) : reject(new Error(`ffmpeg ${code}: ${stderr} ${error}`)),
    ),
  );
}

const SCENE = 'testsrc2=size=640x360:rate=1';

describe('measures on frames decoded by ffmpeg', () => {
  it('the reference scene against itself, and the usual picture faults', async () => {
    const [ref] = await decode(SCENE);
    const base = analyseKeyframe(ref as YuvFrame);
    const reference = referenceFrom(base, 0);
    const measure = async (source: string, filters = '') =>
      analyseKeyframe((await decode(source, filters))[0] as YuvFrame, base.small, reference).fields;

    const same = await measure(SCENE);
    expect(same).toMatchObject({ motion_pct: 0, scene_ssim: 1, sharpness_ratio: 1 });
    expect(base.fields.flat_pct).toBeLessThan(90); // testsrc2 has large single-colour areas

    const black = await measure('color=black:size=640x360');
    expect(black.luma_avg).toBeLessThanOrEqual(17); // limited-range black is Y = 16
    expect(black.luma_std).toBeLessThan(1);
    expect(black.flat_pct).toBe(100);

    const blur = await measure(SCENE, 'boxblur=6');
    expect(blur.sharpness_ratio).toBeLessThan(0.5);

    const turned = await measure('mandelbrot=size=640x360:rate=1');
    expect(turned.scene_ssim).toBeLessThan(0.5);

    const bright = await measure(SCENE, 'eq=brightness=0.6');
    expect(bright.luma_avg).toBeGreaterThan(220);

    const cast = await measure(
      'color=gray:size=640x360',
      'hue=h=0:s=0,colorchannelmixer=rr=1.3:gg=0.9:bb=0.7',
    );
    expect(cast.cast_level).toBeGreaterThan(15);
    const grey = await measure('color=gray:size=640x360');
    expect(grey.cast_level).toBeLessThan(2);

    const noisy = await measure(SCENE, 'noise=alls=10:allf=t');
    expect(noisy.motion_pct).toBeLessThan(1);
    expect(noisy.scene_ssim).toBeGreaterThan(0.8);
  });

  it('consecutive frames of a moving test source show motion, a still one none', async () => {
    const moving = await decode('testsrc=size=320x180:rate=5', '', 6);
    const still = await decode('testsrc=size=320x180:rate=5', 'select=eq(n\\,0),loop=loop=5:size=1', 6);
    const motion = (fs: YuvFrame[]) => {
      const a = analyseKeyframe(fs[0] as YuvFrame);
      return analyseKeyframe(fs[5] as YuvFrame, a.small).fields.motion_pct ?? -1;
    };
    expect(motion(moving)).toBeGreaterThan(0.5);
    expect(motion(still)).toBe(0);
  });

  it('a kept frame encodes to a JPEG of its size', async () => {
    const [f] = await decode(SCENE);
    const jpeg = await encodeJpeg('ffmpeg', f as YuvFrame, { timeoutMs: 10_000 });
    expect([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    // SOF0 marker carries height then width (ITU-T T.81 B.2.2).
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect([jpeg.readUInt16BE(sof + 5), jpeg.readUInt16BE(sof + 7)]).toEqual([360, 640]);
    expect(encodeJpegArgs()).toContain('pgmyuv');
  });
});

describe('pgmyuv reader', () => {
  it('yields the same frames whatever the chunking', async () => {
    const frames = await decode('testsrc=size=320x180:rate=5', '', 3);
    const header = (f: YuvFrame) => Buffer.from(`P5\n${f.width} ${(f.height * 3) / 2}\n255\n`);
    const stream = Buffer.concat(frames.flatMap((f) => [header(f), Buffer.from(f.data)]));
    const rnd = seededRandom(5);
    for (let trial = 0; trial < 20; trial++) {
      const got: Uint8Array[] = [];
      const r = new PgmYuvReader(
        (f) => got.push(f.data.slice()),
        (m) => expect.fail(m),
      );
      for (let off = 0; off < stream.length; ) {
        const n = 1 + Math.floor(rnd() * (trial < 5 ? 7 : 40_000));
        r.push(stream.subarray(off, off + n));
        off += n;
      }
      expect(got.map((d) => Buffer.from(d).equals(Buffer.from(frames[got.indexOf(d)]?.data ?? [])))).toEqual([
        true,
        true,
        true,
      ]);
    }
  });

  it('rejects what is not a bounded 8-bit pgmyuv frame', () => {
    const errors: string[] = [];
    const feed = (s: string) =>
      new PgmYuvReader(
        () => expect.fail('no frame expected'),
        (m) => errors.push(m),
      ).push(Buffer.from(s));
    feed('P6\n4 6\n255\n');
    feed('P5\n4 6\n65535\n');
    feed('P5\n8192 6144\n255\n');
    feed('P5\n3 6\n255\n');
    feed(`P5\n${'9'.repeat(80)}`);
    expect(errors).toHaveLength(5);
  });
});

describe('progress and secrets', () => {
  it('turns -progress blocks into fps and kbps', () => {
    const blocks: Parameters<typeof rates>[0][] = [];
    const p = new ProgressParser((b) => blocks.push(b));
    p.push('frame=10\nfps=0.00\ntotal_size=1000\nout_time_us=1000000\nprogr');
    p.push('ess=continue\nframe=30\ntotal_size=26000\nout_time_us=3000000\nprogress=continue\n');
    p.push('frame=30\ntotal_size=N/A\nprogress=end\n');
    expect(blocks).toHaveLength(3);
    expect(rates(blocks[0] as never, blocks[1] as never, 2000)).toEqual({ fps: 10, bitrate_kbps: 100 });
    expect(blocks[2]).toMatchObject({ totalSize: undefined, end: true });
  });

  it('scrubs userinfo and the password in any form', () => {
    const pw = 'p@ss:w/rd!';
    const url = urlWithCredentials('rtsp://192.0.2.1:554/Streaming/Channels/102', 'admin', pw);
    expect(new URL(url).password).not.toBe('');
    const scrub = makeScrubber([pw]);
    const line = `${url}: 401 Unauthorized (password ${pw}, ${encodeURIComponent(pw)})`;
    const out = scrub(line);
    expect(out).not.toContain(pw);
    expect(out).not.toContain(encodeURIComponent(pw));
    expect(out).not.toContain('admin:');
    expect(out).toContain('rtsp://***@192.0.2.1:554/Streaming/Channels/102');
  });
});
