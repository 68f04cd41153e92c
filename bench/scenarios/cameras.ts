import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startRtspSim } from '../../simulators/rtsp/server.js';
import { cpuSeconds, sleep, spawnNode } from '../lib/proc.js';
import type { BenchContext, Row } from '../lib/types.js';

/**
 * Cost per supervised camera: a CameraSupervisor in its own node process analysing N cameras that
 * all point at ONE simulator mount (the simulator's media is shared, so its encoder costs the same
 * for any N and stays out of the figure; it runs as a separate process and is not measured).
 * Reported per N: CPU % of one core and memory (PSS) of the supervisor process plus all its ffmpeg
 * children (from /proc), in total and per camera, over a steady window after every camera is online.
 */

const source = import.meta.url.endsWith('.ts');
const SUPERVISOR = new URL(`../../adapters/rtsp/supervisor.${source ? 'ts' : 'js'}`, import.meta.url).href;

// Absolute, because the worker's `-e` module resolves bare names from its working directory.
const PINO = import.meta.resolve('pino');

const WORKER = `
import { pino } from ${JSON.stringify(PINO)};
import { CameraSupervisor } from ${JSON.stringify(SUPERVISOR)};
const [url, n] = [process.argv[1], Number(process.argv[2])];
const refs = new Map();
let readings = 0;
const sup = new CameraSupervisor({
  ffmpeg: 'ffmpeg', maxProcesses: n + 10, statsIntervalS: 2, stallS: 8, connectTimeoutS: 5,
  backoff: { initialS: 1, maxS: 30 },
  references: { get: async (id) => refs.get(id), put: async (id, r) => void refs.set(id, r), delete: async (id) => void refs.delete(id) },
  onReading: () => { readings++; },
  logger: pino({ level: 'warn' }),
});
sup.sync(Array.from({ length: n }, (_, i) => ({ id: 'cam' + i, url, transport: 'tcp' })));
await sup.start();
setInterval(() => {
  const s = sup.statuses();
  console.log(JSON.stringify({ online: s.filter((x) => x.state === 'online').length, restarts: s.reduce((a, x) => a + x.restarts, 0), readings }));
}, 1000);
`;

function ffmpegChildren(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppidOf = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidOf === ppid && comm === 'ffmpeg') out.push(Number(d));
    } catch {
      // exited while listed
    }
  }
  return out;
}

/**
 * Proportional set size, MB (/proc/<pid>/smaps_rollup): shared pages (ffmpeg's libraries) divided
 * among the processes that map them, so the sum over processes is the memory they really take;
 * the sum of RSS would count libav* once per camera.
 */
function pssMb(pid: number): number {
  try {
    const kb = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    return Number(kb ?? 0) / 1024;
  } catch {
    return 0;
  }
}

interface Sample {
  cpu: number;
  rssMb: number;
  ffmpegCpu: number;
  ffmpegRssMb: number;
}

function sample(pid: number, kids: number[]): Sample {
  let ffmpegCpu = 0;
  let ffmpegRssMb = 0;
  for (const k of kids) {
    ffmpegCpu += cpuSeconds(k) ?? 0;
    ffmpegRssMb += pssMb(k);
  }
  const node = { cpu: cpuSeconds(pid) ?? 0, rss: pssMb(pid) };
  return { cpu: node.cpu + ffmpegCpu, rssMb: node.rss + ffmpegRssMb, ffmpegCpu, ffmpegRssMb };
}

export async function camerasScenario(
  ctx: Pick<BenchContext, 'log'>,
  opts: { counts: number[]; windowS: number },
): Promise<Row[]> {
  const sim = await startRtspSim({ cameras: ['bench'], fps: 10, gopFrames: 10 });
  const rows: Row[] = [];
  try {
    for (const n of opts.counts) {
      const scenario = `6 cameras: ${n} supervised`;
      ctx.log(`${scenario}: start`);
      const child = spawnNode(['--input-type=module', '-e', WORKER, sim.url('bench', 'sub'), String(n)], {
        nodeArgs: source ? ['--import', import.meta.resolve('tsx')] : [],
      });
      let last = { online: 0, restarts: 0, readings: 0 };
      createInterface({ input: child.proc.stdout as NonNullable<typeof child.proc.stdout> }).on(
        'line',
        (l) => {
          if (l.startsWith('{')) last = JSON.parse(l) as typeof last;
        },
      );
      try {
        const deadline = Date.now() + 60_000 + n * 500;
        while (last.online < n && Date.now() < deadline) await sleep(500);
        if (last.online < n)
          throw new Error(`only ${last.online}/${n} cameras online: ${child.stderr().slice(-300)}`);
        await sleep(4000); // past start-up (probing, first references)
        const kids = ffmpegChildren(child.pid);
        const t0 = performance.now();
        const s0 = sample(child.pid, kids);
        const r0 = last.readings;
        await sleep(opts.windowS * 1000);
        const s1 = sample(child.pid, kids);
        const dt = (performance.now() - t0) / 1000;
        const cpuPct = ((s1.cpu - s0.cpu) / dt) * 100;
        const ffmpegPct = ((s1.ffmpegCpu - s0.ffmpegCpu) / dt) * 100;
        rows.push({
          scenario,
          system: 'gridgate supervisor',
          cpuPct: Math.round(cpuPct * 10) / 10,
          peakRssMb: Math.round(s1.rssMb),
          note: `per camera: ${(cpuPct / n).toFixed(2)}% CPU (ffmpeg ${(ffmpegPct / n).toFixed(2)}%, node ${((cpuPct - ffmpegPct) / n).toFixed(2)}%), ${(s1.rssMb / n).toFixed(1)} MB PSS (ffmpeg ${(s1.ffmpegRssMb / n).toFixed(1)} MB); ${kids.length} ffmpeg`,
          detail: {
            cameras: n,
            windowS: dt,
            cpuPctTotal: cpuPct,
            cpuPctFfmpeg: ffmpegPct,
            cpuPctPerCamera: cpuPct / n,
            rssMbTotal: s1.rssMb,
            rssMbFfmpeg: s1.ffmpegRssMb,
            rssMbPerCamera: s1.rssMb / n,
            readingsPerS: (last.readings - r0) / dt,
            restarts: last.restarts,
          },
        });
      } finally {
        const kids = ffmpegChildren(child.pid);
        await child.stop('SIGTERM', 5000);
        // The next N starts only once this run's ffmpegs (ended by the closed pipes) are gone.
        for (let i = 0; i < 100 && kids.some((k) => cpuSeconds(k) !== undefined); i++) await sleep(100);
      }
    }
  } finally {
    await sim.stop();
  }
  return rows;
}

/** `node dist/bench/scenarios/cameras.js [N ...]` (or tsx from source): this scenario alone. */
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const counts = process.argv
    .slice(2)
    .map(Number)
    .filter((x) => x > 0);
  const rows = await camerasScenario(
    { log: (m) => console.error(m) },
    { counts: counts.length ? counts : [1, 10, 50], windowS: 20 },
  );
  for (const r of rows) console.log(`${r.scenario}: ${r.cpuPct}% CPU, ${r.peakRssMb} MB PSS; ${r.note}`);
}
