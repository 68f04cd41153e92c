import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveRelay } from '../../adapters/rtsp/live-relay.js';
import { ffconcatScript, rtspInput } from '../../adapters/rtsp/rtsp-input.js';
import { CameraSupervisor } from '../../adapters/rtsp/supervisor.js';
import type { CameraReference } from '../../processors/camera/reference.js';
import { type RtspSim, startRtspSim } from '../../simulators/rtsp/server.js';
import { capturedLogger, Readings, until } from './supervisor-support.js';

/**
 * Camera credentials never reach an ffmpeg command line, which every local user can read through
 * ps or /proc/<pid>/cmdline: each camera ffmpeg reads its RTSP url from stdin (rtsp-input.ts).
 */
const PASSWORD = 'Cr3d:en#t1al@cam';
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD), 'Cr3d%3Aen%23t1al'];

describe('RTSP input (rtsp-input.ts)', () => {
  const cam = {
    url: 'rtsp://192.0.2.1/a',
    username: 'ad min',
    password: "p'w@:/",
    transport: 'udp',
  } as const;

  it('quotes the url, with its credentials percent-encoded, and carries the RTSP options', () => {
    expect(ffconcatScript(cam, 4000).split('\n')).toEqual([
      'ffconcat version 1.0',
      "file 'rtsp://ad%20min:p'\\''w%40%3A%2F@192.0.2.1/a'",
      'option rtsp_transport udp',
      'option timeout 4000000',
      'option fpsprobesize 0',
      'option analyzeduration 1000000',
      '',
    ]);
  });

  it('keeps a line break in the url from starting a directive of its own', () => {
    const s = ffconcatScript({ ...cam, url: 'rtsp://192.0.2.1/a\nfile /etc/passwd' }, 4000);
    expect(s.split('\n')).toHaveLength(7);
    expect(s.split('\n').filter((l) => l.startsWith('file '))).toHaveLength(1);
  });

  it('puts neither the url nor the password in argv, and names the input by its url in errors', () => {
    const input = rtspInput(cam, { ioTimeoutMs: 4000, keyframesOnly: true });
    const argv = input.args.join(' ');
    expect(argv).not.toContain('192.0.2.1');
    expect(argv).not.toMatch(/p'w|p%27w|%40%3A/);
    expect(input.args.slice(-2)).toEqual(['-i', 'pipe:0']);
    expect(argv).toContain('-skip_frame nokey');
    expect(rtspInput(cam, { ioTimeoutMs: 4000 }).args).not.toContain('-skip_frame');
    expect(input.scrub('pipe:0: Connection refused')).toBe('rtsp://192.0.2.1/a: Connection refused');
    expect(input.scrub("Impossible to open 'rtsp://ad%20min:p%27w%40%3A%2F@192.0.2.1/a'")).toBe(
      "Impossible to open 'rtsp://***@192.0.2.1/a'",
    );
  });
});

/** Direct children of this process with their argv (NUL-separated in /proc, joined by spaces here). */
function childCommands(): { pid: number; argv: string }[] {
  const out: { pid: number; argv: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
      out.push({ pid: Number(d), argv: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      // exited while listed
    }
  }
  return out;
}

function commandOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

function expectNoSecret(argv: string): void {
  for (const s of SECRETS) expect(argv).not.toContain(s);
  expect(argv).not.toContain('rtsp://');
}

describe('camera ffmpeg command lines against the simulator with RTSP authentication', () => {
  let sim: RtspSim;
  let sup: CameraSupervisor;
  let relay: LiveRelay | undefined;
  const readings = new Readings();
  const log = capturedLogger();

  beforeAll(async () => {
    sim = await startRtspSim({ cameras: ['cam'], username: 'admin', password: PASSWORD });
    const refs = new Map<string, CameraReference>();
    sup = new CameraSupervisor({
      ffmpeg: 'ffmpeg',
      maxProcesses: 10,
      statsIntervalS: 1,
      stallS: 5,
      connectTimeoutS: 5,
      backoff: { initialS: 0.5, maxS: 2 },
      references: {
        get: async (id) => refs.get(id),
        put: async (id, r) => void refs.set(id, r),
        delete: async (id) => void refs.delete(id),
      },
      onReading: readings.onReading,
      logger: log.logger,
    });
    const login = { username: 'admin', password: PASSWORD, transport: 'tcp' } as const;
    sup.sync([
      { id: 'cam', url: sim.url('cam', 'main'), subUrl: sim.url('cam', 'sub'), ...login },
      // Its analysis cannot open (no such mount), so a snapshot of it is a one-shot grab of the main stream.
      { id: 'grab', url: sim.url('cam', 'main'), subUrl: sim.url('nosuch', 'sub'), ...login },
    ]);
    await sup.start();
  }, 30_000);

  afterAll(async () => {
    await relay?.stop();
    await sup?.stop();
    await sim?.stop();
  });

  it('the analysis reads the camera with no credentials or url in its argv', async () => {
    const since = Date.now();
    await until(
      'a reading with picture measures',
      () => readings.find('cam', since, (f) => f.online === 1 && f.luma_avg !== undefined),
      30_000,
    );
    const pid = sup.status('cam')?.pid;
    expect(pid).toBeDefined();
    const argv = commandOf(pid as number);
    expect(argv).toMatch(/^ffmpeg .*-skip_frame nokey .*-f concat .*-i pipe:0 /);
    expectNoSecret(argv);
    for (const p of sup.pids()) expectNoSecret(commandOf(p));
  });

  it('a snapshot grab reads the camera the same way', async () => {
    await until('the grab camera offline', () => sup.status('grab')?.state === 'offline');
    // Every command line seen while the grab runs (an exited child not yet reaped reads as empty).
    const seen = new Set<string>();
    let done = false;
    const shot = sup.snapshot('grab', 10_000).finally(() => {
      done = true;
    });
    while (!done) {
      for (const c of childCommands()) if (c.argv) seen.add(c.argv);
      await new Promise((r) => setTimeout(r, 20));
    }
    const { jpeg } = await shot;
    expect([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    const grabs = [...seen].filter(
      (a) => a.includes('-f concat') && a.includes('-frames:v 1 -q:v 4 -f mjpeg'),
    );
    expect(grabs.length).toBeGreaterThan(0);
    for (const argv of seen) expectNoSecret(argv);
  });

  it('the live relay reads the camera the same way', async () => {
    const r = new LiveRelay({
      camera: {
        id: 'cam',
        url: sim.url('cam', 'main'),
        username: 'admin',
        password: PASSWORD,
        transport: 'tcp',
      },
      ffmpeg: 'ffmpeg',
      budget: sup,
      logger: log.logger,
    });
    relay = r;
    r.start();
    const pids = await until(
      'the relay streaming',
      () => {
        const s = r.status();
        return s.state === 'running' && s.bytesOut > 0 && s.pids.length === 2 && s.pids;
      },
      30_000,
    );
    const argvs = pids.map(commandOf);
    expect(argvs.some((a) => a.includes('-f concat') && a.includes('-i pipe:0'))).toBe(true);
    for (const argv of argvs) expectNoSecret(argv);
    // Everything this process runs now: analyses, the relay's reader and encoder.
    const all = childCommands();
    expect(all.length).toBeGreaterThanOrEqual(3);
    for (const c of all) expectNoSecret(c.argv);
    await r.stop();
    relay = undefined;
  });

  it('no secret in any log line', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    for (const s of SECRETS) expect(log.lines.filter((l) => l.includes(s))).toEqual([]);
  });
});
