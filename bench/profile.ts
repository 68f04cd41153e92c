/**
 * Profile the gateway under scenario-1 load: `gridgate start` with `node --cpu-prof` behind the
 * embedded broker (or, with --broker mosquitto, subscribed to a mosquitto: scenario 2), saturated
 * by a load worker for --duration seconds, then stopped gracefully so V8 writes the profile (one
 * per thread: the ingest thread's is summarized). Prints the summary (bench/profile-summary.ts)
 * and the profile's path, and each busy OS thread's CPU over the load (from /proc: the gateway's
 * own threads, V8's GC helpers, libuv's pool). --no-prof runs without the profiler (its sampling
 * costs CPU): the per-thread CPU alone.
 *
 *   node dist/bench/profile.js [--duration 15] [--qos 0] [--devices 1000] [--rate 150000] [--workers 1] [--broker mosquitto] [--no-prof]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../processors/devices/index.js';
import { startServices } from '../scripts/services.js';
import { buildFleet, fleetToRegistryYaml } from '../simulators/fleet.js';
import { argMap } from './lib/baseline-sink.js';
import { startGateway } from './lib/gateway.js';
import { ROOT, threadCpuSeconds } from './lib/proc.js';
import { measureThroughput } from './lib/throughput.js';
import { formatSummary, summarize } from './profile-summary.js';

const args = argMap(process.argv.slice(2));
const devices = Number(args.get('devices') ?? 1000);
const outDir = join(ROOT, 'bench', 'results', 'profiles');
await mkdir(outDir, { recursive: true });
const dir = await mkdtemp(join(tmpdir(), 'gridgate-prof-'));
const external = args.get('broker') === 'mosquitto';
const prof = !args.has('no-prof');
const services = await startServices({ redis: true, vm: true, mosquitto: external }, dir);
try {
  const fleetFile = join(dir, 'fleet.yaml');
  await writeFile(fleetFile, fleetToRegistryYaml(buildFleet({ devices, models: MODELS })));
  const before = new Set(await readdir(outDir));
  const gw = await startGateway({
    dir,
    name: 'profile',
    tsdbUrl: services.vm!.url,
    redisUrl: services.redis!.url,
    redisPrefix: 'bench:profile:',
    devicesFile: fleetFile,
    externalMqttUrl: external ? services.mosquitto!.url : undefined,
    nodeArgs: prof ? ['--cpu-prof', `--cpu-prof-dir=${outDir}`] : [],
  });
  const threads0 = threadCpuSeconds(gw.child.pid);
  const t0 = performance.now();
  // Each thread's CPU per second of the run, to see the steady state apart from ramp and tail.
  const perSecond = new Map<number, number[]>();
  let last = threads0;
  const sampler = setInterval(() => {
    const now = threadCpuSeconds(gw.child.pid);
    for (const [tid, t] of now) {
      const row = perSecond.get(tid) ?? [];
      row.push(Math.round((t.cpu - (last.get(tid)?.cpu ?? t.cpu)) * 100));
      perSecond.set(tid, row);
    }
    last = now;
  }, 1000);
  const r = await measureThroughput(
    { pid: gw.child.pid, counters: gw.counters },
    {
      url: gw.mqttUrl,
      devices,
      rate: Number(args.get('rate') ?? 150_000),
      durationS: Number(args.get('duration') ?? 15),
      qos: args.get('qos') === '1' ? 1 : 0,
      workers: Number(args.get('workers') ?? 1),
    },
  );
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  const threads1 = threadCpuSeconds(gw.child.pid);
  await gw.stop();
  console.log(
    `gateway took ${Math.round(r.msgsPerS)} msg/s at ${r.cpuPct.toFixed(0)}% CPU, peak RSS ${r.peakRssMb.toFixed(0)} MB`,
  );
  console.log(
    `\nCPU per thread over the ${seconds.toFixed(0)} s of load and tail (% of one core; threads above 1%; µs of CPU per message taken in), and per second:`,
  );
  for (const [tid, t] of threads1) {
    const pct = ((t.cpu - (threads0.get(tid)?.cpu ?? 0)) / seconds) * 100;
    if (pct < 1) continue;
    const row = (perSecond.get(tid) ?? []).join(' ');
    const perMsg = ((t.cpu - (threads0.get(tid)?.cpu ?? 0)) / Math.max(1, r.received)) * 1e6;
    console.log(
      `  ${String(tid).padStart(7)} ${t.name.padEnd(16)} ${pct.toFixed(1).padStart(5)}% ${perMsg.toFixed(2).padStart(6)} µs/msg   per second: ${row}`,
    );
  }
  if (prof) {
    const fresh = (await readdir(outDir)).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
    if (fresh.length === 0)
      throw new Error(`no profile written (gateway exit code ${gw.child.proc.exitCode})`);
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the ingest thread.
    const threadOf = (f: string) => Number(f.split('.')[4]);
    for (const name of fresh.sort((a, b) => threadOf(a) - threadOf(b))) {
      const file = join(outDir, name);
      const main = threadOf(name) === 0;
      console.log(main ? '\n== ingest thread ==' : `\n== worker thread ${threadOf(name)} ==`);
      const top = main ? Number(args.get('top') ?? 35) : 12;
      console.log(formatSummary(summarize(JSON.parse(await readFile(file, 'utf8'))), top));
      console.log(`\nprofile: ${file}`);
    }
  }
} finally {
  await services.stop();
  await rm(dir, { recursive: true, force: true });
}
