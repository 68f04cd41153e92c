/**
 * `make bench`: starts VictoriaMetrics, Redis and mosquitto on free loopback ports, runs the
 * scenarios of issue 6 against the built gateway (dist/) as child processes, prints one table and
 * writes bench/results/latest.json; with --record (what `make bench` passes) a full run also rewrites
 * bench/RESULTS.md and the README's generated table.
 *
 *   node dist/bench/run.js [--only 1,2,3,4,5,6,7,8] [--duration 20] [--devices 1000] [--burst 100000] [--record]
 *     [--fleet-devices 10000] [--fleet-workers 1] [--fleet-sources 4] [--fleet-interval 10] [--fleet-storms 3]
 *     [--soak-seconds 240] [--soak-rate 5000]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../processors/devices/index.js';
import { startServices } from '../scripts/services.js';
import { buildFleet, fleetToRegistryYaml } from '../simulators/fleet.js';
import { buildHj212Fleet } from '../simulators/hj212-fleet.js';
import { argMap } from './lib/baseline-sink.js';
import { ROOT } from './lib/proc.js';
import { recordResults, resultsBlock } from './lib/record.js';
import { renderTable } from './lib/table.js';
import { checkTargets } from './lib/targets.js';
import type { BenchContext, Row } from './lib/types.js';
import { cameraFaultsScenario } from './scenarios/camera-faults.js';
import { camerasScenario } from './scenarios/cameras.js';
import { fleetScenario } from './scenarios/fleet.js';
import { hj212Scenario } from './scenarios/hj212.js';
import { latencyScenario, probeDevices } from './scenarios/latency.js';
import { embeddedScenario, externalScenario } from './scenarios/mqtt-throughput.js';
import { scaleScenario } from './scenarios/scale.js';
import { soakScenario } from './scenarios/soak.js';

const argv = process.argv.slice(2);
const args = argMap(argv);
const record = argv.includes('--record');
const only = new Set((args.get('only') ?? '1,2,3,4,5,6,7,8').split(',').map((s) => s.trim()));
const started = Date.now();

const dir = await mkdtemp(join(tmpdir(), 'gridgate-bench-'));
const services = await startServices({ redis: true, vm: true, mosquitto: true }, dir);
const rows: Row[] = [];
try {
  const devices = Number(args.get('devices') ?? 1000);
  const fleetFile = join(dir, 'fleet.yaml');
  const stations = Number(args.get('stations') ?? 8);
  await writeFile(
    fleetFile,
    fleetToRegistryYaml(buildFleet({ devices, models: MODELS }), [
      ...probeDevices(),
      ...buildHj212Fleet({ stations, models: MODELS }).entries,
    ]),
  );
  const ctx: BenchContext = {
    dir,
    vmUrl: services.vm!.url,
    vmPid: services.vm!.proc.pid!,
    redisUrl: services.redis!.url,
    mosquittoUrl: services.mosquitto!.url,
    mosquittoPid: services.mosquitto!.proc.pid!,
    devices,
    durationS: Number(args.get('duration') ?? 15),
    offeredRate: Number(args.get('rate') ?? 150_000),
    burstMessages: Number(args.get('burst') ?? 100_000),
    fleetFile,
    workers: (args.get('workers') ?? '1,2').split(',').map(Number),
    log: (m) => console.error(`[bench ${Math.round((Date.now() - started) / 1000)}s] ${m}`),
  };
  let max = 0;
  /** A scenario that fails becomes a row saying why; the others still run. */
  const attempt = async (name: string, run: () => Promise<Row[]>) => {
    try {
      rows.push(...(await run()));
    } catch (err) {
      ctx.log(`${name} failed: ${(err as Error).stack ?? err}`);
      rows.push({
        scenario: name,
        system: 'FAILED',
        note: (err as Error).message.split('\n')[0]?.slice(0, 160),
      });
    }
  };
  if (only.has('1')) {
    for (const qos of [0, 1] as const) {
      await attempt(`1 embedded broker QoS ${qos}`, async () => {
        const r = await embeddedScenario(ctx, qos);
        if (qos === 0) max = r.max;
        return r.rows;
      });
    }
  }
  if (only.has('2')) await attempt('2 mosquitto', () => externalScenario(ctx));
  if (only.has('3')) {
    // Without scenario 1 in this run, --max-rate gives the maximum to take percentages of.
    const m = max || Number(args.get('max-rate') ?? 0);
    if (m > 0) await attempt('3 latency', () => latencyScenario(ctx, m));
    else rows.push({ scenario: '3 latency', system: '—', note: 'n/a: needs scenario 1 or --max-rate' });
  }
  if (only.has('4'))
    await attempt('4 scale', () =>
      scaleScenario(ctx, {
        devices: Number(args.get('scale-devices') ?? 100_000),
        rules: 1000,
        rate: Number(args.get('scale-rate') ?? 5000),
      }),
    );
  if (only.has('5')) await attempt('5 HJ 212', () => hj212Scenario(ctx, stations));
  if (only.has('6')) {
    await attempt('6 cameras', () => camerasScenario(ctx, { counts: [1, 10, 50, 100], windowS: 20 }));
    await attempt('6 cameras: detection delay', () => cameraFaultsScenario(ctx));
  }
  if (only.has('7'))
    await attempt('7 fleet', () =>
      fleetScenario(ctx, {
        devices: Number(args.get('fleet-devices') ?? 10_000),
        workers: Number(args.get('fleet-workers') ?? 1),
        sources: Number(args.get('fleet-sources') ?? 4),
        intervalS: Number(args.get('fleet-interval') ?? 10),
        idleS: Number(args.get('fleet-idle') ?? 10),
        steadyS: Number(args.get('fleet-steady') ?? 20),
        timeoutS: Number(args.get('fleet-timeout') ?? 180),
        storms: Number(args.get('fleet-storms') ?? 3),
      }),
    );
  if (only.has('8'))
    await attempt('8 soak', () =>
      soakScenario(ctx, {
        seconds: Number(args.get('soak-seconds') ?? 240),
        rate: Number(args.get('soak-rate') ?? 5000),
        // Down long enough that tens of thousands of lines wait in the spool each time.
        everyS: 45,
        downS: 25,
      }),
    );
} finally {
  await services.stop();
  await rm(dir, { recursive: true, force: true });
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform} ${release()}, node ${process.version}`;
const when = new Date().toISOString();
const targets = checkTargets(rows);
const params = {
  devices: Number(args.get('devices') ?? 1000),
  durationS: Number(args.get('duration') ?? 15),
  offeredRate: Number(args.get('rate') ?? 150_000),
  totalS: Math.round((Date.now() - started) / 1000),
};
console.log(`gridgate bench — ${machine} — ${when} — ${params.totalS} s`);
console.log(renderTable(rows));
console.log(targets.map((t) => `target: ${t}`).join('\n'));
if (argv.includes('--detail')) for (const r of rows) console.log(r.system, JSON.stringify(r.detail));
const resultsDir = join(ROOT, 'bench', 'results');
await mkdir(resultsDir, { recursive: true });
await writeFile(
  join(resultsDir, 'latest.json'),
  `${JSON.stringify({ machine, when, params, targets, rows }, null, 2)}\n`,
);
// A partial run (--only) would replace the full table with a part of it: only a full run records.
if (record && !args.has('only')) {
  const block = resultsBlock(rows, targets, { machine, when, ...params });
  await recordResults(ROOT, block);
  console.log('recorded in bench/RESULTS.md and README.md');
}
// Every scenario closes what it opened; anything left would keep `make bench` from returning, so
// name it and end here rather than hang.
const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
if (left.length > 0) console.error(`bench: still open at the end: ${left.join(', ')}`);
process.exit(0);
