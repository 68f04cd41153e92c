/**
 * Profile the gateway under scenario-1 load: `gridgate start` with `node --cpu-prof` behind the
 * embedded broker (or, with --broker mosquitto, subscribed to a mosquitto: scenario 2), saturated
 * by a load worker for --duration seconds, then stopped gracefully so V8 writes the profile (one
 * per thread: the ingest thread's is summarized). Prints the summary (bench/profile-summary.ts)
 * and the profile's path.
 *
 *   node dist/bench/profile.js [--duration 15] [--qos 0] [--devices 1000] [--rate 150000] [--workers 1] [--broker mosquitto]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../processors/devices/index.js';
import { startServices } from '../scripts/services.js';
import { buildFleet, fleetToRegistryYaml } from '../simulators/fleet.js';
import { argMap } from './lib/baseline-sink.js';
import { startGateway } from './lib/gateway.js';
import { ROOT } from './lib/proc.js';
import { measureThroughput } from './lib/throughput.js';
import { formatSummary, summarize } from './profile-summary.js';

const args = argMap(process.argv.slice(2));
const devices = Number(args.get('devices') ?? 1000);
const outDir = join(ROOT, 'bench', 'results', 'profiles');
await mkdir(outDir, { recursive: true });
const dir = await mkdtemp(join(tmpdir(), 'gridgate-prof-'));
const external = args.get('broker') === 'mosquitto';
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
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${outDir}`],
  });
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
  await gw.stop();
  console.log(
    `gateway took ${Math.round(r.msgsPerS)} msg/s at ${r.cpuPct.toFixed(0)}% CPU, peak RSS ${r.peakRssMb.toFixed(0)} MB`,
  );
  const fresh = (await readdir(outDir)).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
  if (fresh.length === 0) throw new Error(`no profile written (gateway exit code ${gw.child.proc.exitCode})`);
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
} finally {
  await services.stop();
  await rm(dir, { recursive: true, force: true });
}
