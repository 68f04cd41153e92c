import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RtspSim, startRtspSim } from '../../simulators/rtsp/server.js';
import { alive, until } from './supervisor-support.js';

/**
 * A gateway killed with SIGKILL cannot kill its children. Each camera ffmpeg is spawned under
 * `setpriv --pdeathsig SIGKILL` (adapters/rtsp/ffmpeg-child.ts), so the kernel kills it with its
 * parent. This runs a supervisor and a live relay in a separate node process, stalls every camera
 * (the connections stay open and silent, and the I/O timeouts are long, so no ffmpeg writes, reads
 * an end of file or times out by itself), SIGKILLs the gateway and watches every ffmpeg child
 * disappear. The live relay's encoder (node-rtsp-stream's own spawn) ends at the end of its stdin.
 */
const SCRIPT = `
import { pino } from 'pino';
import { CameraSupervisor } from ${JSON.stringify(new URL('../../adapters/rtsp/supervisor.ts', import.meta.url).href)};
import { LiveRelay } from ${JSON.stringify(new URL('../../adapters/rtsp/live-relay.ts', import.meta.url).href)};
const { urls, live, password } = JSON.parse(process.env.SIGKILL_TEST_CAMERAS);
const login = { username: 'admin', password, transport: 'tcp' };
const refs = new Map();
const logger = pino({ level: 'silent' });
const sup = new CameraSupervisor({
  ffmpeg: 'ffmpeg', maxProcesses: 10, statsIntervalS: 1, stallS: 300, connectTimeoutS: 300,
  backoff: { initialS: 1, maxS: 4 },
  references: { get: async (id) => refs.get(id), put: async (id, r) => void refs.set(id, r), delete: async (id) => void refs.delete(id) },
  onReading: () => {},
  logger,
});
sup.sync(urls.map((url, i) => ({ id: 'c' + i, url, ...login })));
await sup.start();
const relay = new LiveRelay({ camera: { id: 'live', url: live, ...login }, ffmpeg: 'ffmpeg', budget: sup, logger, stallMs: 300_000 });
relay.start();
let online = false;
let lastBytes = -1;
let quietSince = 0;
setInterval(() => {
  const r = relay.status();
  if (!online) {
    if (sup.statuses().every((s) => s.state === 'online') && r.state === 'running' && r.pids.length === 2) {
      online = true;
      console.log('online ' + sup.pids().join(',') + ' ' + r.pids.join(','));
    }
    return;
  }
  // Quiet: no keyframe and no live bytes for 2 s (every camera stalled, each ffmpeg blocked reading).
  const now = Date.now();
  if (r.bytesOut !== lastBytes) { lastBytes = r.bytesOut; quietSince = now; }
  const keyframes = sup.statuses().map((s) => s.lastKeyframeAt ?? 0);
  if (now - quietSince >= 2000 && keyframes.every((t) => now - t >= 2000)) console.log('quiet');
}, 100);
`;

const CAMERAS = ['k1', 'k2', 'k3'];
const PASSWORD = 'k1ll:Me#now';

let sim: RtspSim;
let gateway: ChildProcess | undefined;

beforeAll(async () => {
  sim = await startRtspSim({ cameras: CAMERAS, username: 'admin', password: PASSWORD });
});

afterAll(async () => {
  gateway?.kill('SIGKILL');
  await sim?.stop();
});

/** Processes whose parent is `ppid`, with their command names, from /proc. */
function children(ppid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === ppid) out.push({ pid: Number(d), comm });
    } catch {
      // exited while listed
    }
  }
  return out;
}

it('no ffmpeg outlives a SIGKILLed gateway, not even one blocked on a silent camera', async () => {
  const cameras = {
    urls: CAMERAS.map((c) => sim.url(c, 'sub')),
    live: sim.url('k1', 'main'),
    password: PASSWORD,
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SIGKILL_TEST_CAMERAS: JSON.stringify(cameras) },
  });
  gateway = proc;
  const lines = createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> });
  let reported: { analyses: number[]; relay: number[] } | undefined;
  let quiet = false;
  lines.on('line', (l) => {
    if (l.startsWith('online ')) {
      const [analyses = '', relay = ''] = l.slice(7).split(' ');
      reported = { analyses: analyses.split(',').map(Number), relay: relay.split(',').map(Number) };
    } else if (l === 'quiet') quiet = true;
  });
  const pids = await until('three cameras online and the live relay streaming', () => reported, 60_000);
  const ffmpegs = children(proc.pid as number).filter((c) => c.comm === 'ffmpeg');
  expect(ffmpegs.map((c) => c.pid).sort()).toEqual([...pids.analyses, ...pids.relay].sort());
  expect(ffmpegs).toHaveLength(5);

  await Promise.all(CAMERAS.map((c) => sim.fault(c, 'stall')));
  await until('every ffmpeg silent', () => quiet, 20_000);
  proc.kill('SIGKILL');
  await until('the gateway gone', () => proc.exitCode !== null || proc.signalCode !== null, 5000);
  await until('every ffmpeg child gone', () => ffmpegs.every((c) => !alive(c.pid)), 20_000);
  expect(ffmpegs.filter((c) => alive(c.pid))).toEqual([]);
}, 150_000);
