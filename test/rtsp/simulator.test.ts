import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CameraFault, type RtspSim, startRtspSim } from '../../simulators/rtsp/server.js';

// The camera simulator against real ffmpeg: every picture fault has the statistics the
// supervisor's diagnosis relies on, on both mounts, and the RTSP-level faults behave like a
// real camera (auth, offline, stall).

const SUB = { w: 320, h: 180 };
const MAIN = { w: 640, h: 360 };
const USER = 'admin';
const PASS = 'p@ss:w0rd/ä'; // characters that need percent-encoding in a URL

let sim: RtspSim;

interface Grab {
  code: number | null;
  frames: Buffer[];
  stderr: string;
}

/** Decodes `n` frames (only keyframes if keyOnly) to raw I420 with the real ffmpeg. */
function grab(
  url: string,
  n: number,
  opts: { keyOnly?: boolean; size?: { w: number; h: number } } = {},
): Promise<Grab> {
  const size = opts.size ?? SUB;
  const frameBytes = (size.w * size.h * 3) / 2;
  const args = ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-timeout', '5000000'];
  args.push('-analyzeduration', '200000');
  if (opts.keyOnly) args.push('-skip_frame', 'nokey');
  // passthrough: no duplicated frames to fill a constant rate (keyframes come one per second).
  args.push(
    '-i',
    url,
    '-fps_mode',
    'passthrough',
    '-frames:v',
    String(n),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'yuv420p',
    'pipe:1',
  );
  return new Promise((resolve) => {
    const ff = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    ff.stdout.on('data', (d: Buffer) => chunks.push(d));
    ff.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const kill = setTimeout(() => ff.kill('SIGKILL'), 20_000);
    ff.once('close', (code) => {
      clearTimeout(kill);
      const all = Buffer.concat(chunks);
      const frames: Buffer[] = [];
      for (let o = 0; o + frameBytes <= all.length; o += frameBytes)
        frames.push(all.subarray(o, o + frameBytes));
      resolve({ code, frames, stderr });
    });
  });
}

interface Stats {
  yAvg: number;
  yStd: number;
  uAvg: number;
  vAvg: number;
  /** Share of luma samples above 230. */
  over230: number;
  /** Mean absolute horizontal luma gradient: texture/edge strength. */
  texture: number;
}

function stats(f: Buffer, size = SUB): Stats {
  const n = size.w * size.h;
  let s = 0;
  let s2 = 0;
  let over = 0;
  let grad = 0;
  for (let i = 0; i < n; i++) {
    const y = f[i] ?? 0;
    s += y;
    s2 += y * y;
    if (y > 230) over++;
    if (i % size.w !== 0) grad += Math.abs(y - (f[i - 1] ?? 0));
  }
  const mean = (from: number, len: number): number => {
    let t = 0;
    for (let i = from; i < from + len; i++) t += f[i] ?? 0;
    return t / len;
  };
  const yAvg = s / n;
  return {
    yAvg,
    yStd: Math.sqrt(Math.max(0, s2 / n - yAvg * yAvg)),
    uAvg: mean(n, n / 4),
    vAvg: mean(n + n / 4, n / 4),
    over230: over / n,
    texture: grad / (n - size.h),
  };
}

/** Share of luma samples that differ by more than 12 levels. */
function changed(a: Buffer, b: Buffer, size = SUB): number {
  let c = 0;
  const n = size.w * size.h;
  for (let i = 0; i < n; i++) if (Math.abs((a[i] ?? 0) - (b[i] ?? 0)) > 12) c++;
  return c / n;
}

async function faultAndGrab(camera: string, fault: CameraFault, n = 1): Promise<Buffer[]> {
  await sim.fault(camera, fault);
  const g = await grab(sim.url(camera, 'sub', true), n, { keyOnly: true });
  expect(g.frames.length, `${camera}/${fault}: ${g.stderr}`).toBe(n);
  return g.frames;
}

const CAMERAS = [
  'ok',
  'black',
  'covered',
  'bright',
  'dark',
  'cast',
  'blur',
  'turned',
  'frozen',
  'off',
  'stall',
];

beforeAll(async () => {
  sim = await startRtspSim({ cameras: CAMERAS, username: USER, password: PASS });
});

afterAll(async () => {
  await sim?.stop();
});

describe('camera simulator (real RTSP, real ffmpeg)', () => {
  it('ok: a mid-grey, neutral, textured scene with a little motion between keyframes', async () => {
    const [k1, , k3] = await faultAndGrab('ok', 'ok', 3);
    const st = stats(k1 as Buffer);
    expect(st.yAvg).toBeGreaterThan(90);
    expect(st.yAvg).toBeLessThan(160);
    expect(st.yStd).toBeGreaterThan(25);
    expect(st.texture).toBeGreaterThan(6);
    expect(Math.abs(st.uAvg - 128)).toBeLessThan(8);
    expect(Math.abs(st.vAvg - 128)).toBeLessThan(8);
    const moved = changed(k1 as Buffer, k3 as Buffer);
    expect(moved).toBeGreaterThan(0.003);
    expect(moved).toBeLessThan(0.1);
  });

  it('black: Y=16 everywhere, on both the sub and the main stream', async () => {
    const [sub] = await faultAndGrab('black', 'black');
    const st = stats(sub as Buffer);
    expect(st.yAvg).toBeCloseTo(16, 0);
    expect(st.yStd).toBeLessThan(1);
    const main = await grab(sim.url('black', 'main', true), 1, { size: MAIN });
    expect(main.frames.length, main.stderr).toBe(1);
    expect(stats(main.frames[0] as Buffer, MAIN).yAvg).toBeCloseTo(16, 0);
  });

  it('covered: uniform dark grey, not black', async () => {
    const st = stats((await faultAndGrab('covered', 'covered'))[0] as Buffer);
    expect(st.yAvg).toBeGreaterThanOrEqual(40);
    expect(st.yAvg).toBeLessThanOrEqual(60);
    expect(st.yStd).toBeLessThan(3);
    expect(st.texture).toBeLessThan(2);
  });

  it('bright, dark and cast have the expected means', async () => {
    const [bright, dark, cast] = await Promise.all([
      faultAndGrab('bright', 'bright'),
      faultAndGrab('dark', 'dark'),
      faultAndGrab('cast', 'cast'),
    ]);
    expect(stats(bright[0] as Buffer).over230).toBeGreaterThan(0.8);
    const d = stats(dark[0] as Buffer);
    expect(d.yAvg).toBeGreaterThanOrEqual(25);
    expect(d.yAvg).toBeLessThanOrEqual(35);
    expect(d.yStd).toBeGreaterThan(2); // some texture left
    const c = stats(cast[0] as Buffer);
    expect(Math.max(Math.abs(c.uAvg - 128), Math.abs(c.vAvg - 128))).toBeGreaterThanOrEqual(40);
    expect(c.yAvg).toBeGreaterThan(90);
  });

  it('blur keeps the brightness but loses the edges; turned is another scene', async () => {
    const okThen = async (camera: string, fault: CameraFault): Promise<Buffer[]> => [
      ...(await faultAndGrab(camera, 'ok')),
      ...(await faultAndGrab(camera, fault)),
    ];
    const [[okB, blur], [okT, turned]] = await Promise.all([
      okThen('blur', 'blur'),
      okThen('turned', 'turned'),
    ]);
    const sOk = stats(okB as Buffer);
    const sBlur = stats(blur as Buffer);
    expect(sBlur.texture).toBeLessThan(sOk.texture * 0.4);
    expect(Math.abs(sBlur.yAvg - sOk.yAvg)).toBeLessThan(10);
    expect(changed(okT as Buffer, turned as Buffer)).toBeGreaterThan(0.3);
    const sT = stats(turned as Buffer);
    expect(sT.texture).toBeGreaterThan(6);
  });

  it('frozen: keyframes seconds apart are identical', async () => {
    const [k1, , k3] = await faultAndGrab('frozen', 'frozen', 3);
    expect((k1 as Buffer).equals(k3 as Buffer)).toBe(true);
    expect(stats(k1 as Buffer).texture).toBeGreaterThan(6);
  });

  it('auth: no or wrong credentials are refused, the right ones work', async () => {
    const url = sim.url('ok', 'sub');
    const [none, wrong] = await Promise.all([
      grab(url, 1),
      grab(url.replace('rtsp://', `rtsp://${USER}:wrong@`), 1),
    ]);
    for (const g of [none, wrong]) {
      expect(g.code).not.toBe(0);
      expect(g.stderr).toMatch(/401/);
      expect(g.frames.length).toBe(0);
    }
    expect(sim.url('ok', 'sub', true)).toContain(encodeURIComponent(PASS));
    expect((await grab(sim.url('ok', 'sub', true), 1)).frames.length).toBe(1);
  });

  it('offline closes open sessions and refuses new ones; ok brings the camera back', async () => {
    await sim.fault('off', 'ok');
    const live = watch(sim.url('off', 'sub', true));
    try {
      await until(() => live.bytes() > 0, 'frames before offline');
      await sim.fault('off', 'offline');
      await until(() => live.proc.exitCode !== null, 'open session closed');
    } finally {
      live.proc.kill('SIGKILL');
    }
    const refused = await grab(sim.url('off', 'sub', true), 1);
    expect(refused.frames.length).toBe(0);
    expect(refused.stderr).toMatch(/404/);
    await sim.fault('off', 'ok');
    const back = await grab(sim.url('off', 'sub', true), 1);
    expect(back.frames.length, back.stderr).toBe(1);
  });

  it('stall: the session stays open but no more frames arrive', async () => {
    await sim.fault('stall', 'ok');
    const live = watch(sim.url('stall', 'sub', true));
    try {
      await until(() => live.bytes() > 0, 'frames before stall');
      await sim.fault('stall', 'stall');
      await new Promise((r) => setTimeout(r, 1500)); // frames already in flight drain
      const before = live.bytes();
      await new Promise((r) => setTimeout(r, 2000));
      expect(live.bytes()).toBe(before);
      expect(live.proc.exitCode).toBeNull();
    } finally {
      live.proc.kill('SIGKILL');
      await sim.fault('stall', 'ok');
    }
  });

  it('rejects an unknown camera or fault without disturbing the server', async () => {
    await expect(sim.fault('nope', 'black')).rejects.toThrow(/unknown camera/);
    await expect(sim.fault('ok', 'melted' as CameraFault)).rejects.toThrow(/unknown fault/);
    await sim.fault('ok', 'ok');
  });
});

/** A long-running ffmpeg client, counting decoded bytes. */
function watch(url: string): { proc: ChildProcess; bytes: () => number } {
  let n = 0;
  const proc = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-rtsp_transport',
      'tcp',
      '-analyzeduration',
      '200000',
      '-i',
      url,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      'pipe:1',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  proc.stdout?.on('data', (d: Buffer) => {
    n += d.length;
  });
  return { proc, bytes: () => n };
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
