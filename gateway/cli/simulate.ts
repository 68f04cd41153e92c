import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { MODELS } from '../../processors/devices/index.js';
import { SENSOR_FAMILIES, type SensorFamily } from '../../processors/types.js';
import { buildFleet, fleetToRegistryYaml } from '../../simulators/fleet.js';
import { runHj212Stations } from '../../simulators/hj212/station.js';
import { buildHj212Fleet, parseHostPort } from '../../simulators/hj212-fleet.js';
import { runLoad } from '../../simulators/load.js';
import { MqttFleetRunner } from '../../simulators/mqtt-runner.js';
import { SCENARIOS, type ScenarioName } from '../../simulators/scenarios/index.js';

interface SimulateOptions {
  url: string;
  devices: number;
  families: SensorFamily[];
  speed: number;
  scenario: ScenarioName;
  qos: 0 | 1;
  seed: number;
  duration?: number;
  rate?: number;
  connections?: string;
  writeDevices?: string;
  hj212?: string;
  hj212Stations?: number;
  hj212Password?: string;
  verbose?: boolean;
}

/**
 * `gridgate simulate`: realistic devices of every family over MQTT, speaking each model's own vendor
 * payloads, under a scenario; or, with --rate, a bounded load run for benchmarks.
 */
export function simulateCommand(): Command {
  return new Command('simulate')
    .description(
      'run simulated devices (vendor payloads over MQTT) under a scenario, or a load run with --rate',
    )
    .option('--url <url>', 'MQTT broker', 'mqtt://127.0.0.1:1883')
    .option('--devices <n>', 'number of devices, spread over the families', positiveInt, 40)
    .option('--families <list>', `comma-separated families (${SENSOR_FAMILIES.join(',')})`, familyList, [
      ...SENSOR_FAMILIES,
    ])
    .option(
      '--speed <x>',
      'scenario seconds per real second (60 plays one hour in one minute)',
      positiveNumber,
      60,
    )
    .addOption(new Option('--scenario <name>', 'which incidents to play').choices(SCENARIOS).default('all'))
    .addOption(new Option('--qos <n>', 'MQTT QoS of every publish').choices(['0', '1']).default('0'))
    .option('--seed <n>', 'PRNG seed: the same seed gives the same fleet and readings', integer, 1)
    .option(
      '--duration <s>',
      'stop after this many seconds (default: until Ctrl-C; load mode: 10)',
      positiveNumber,
    )
    .option(
      '--rate <msg/s>',
      'load mode: this many messages per second in total, for --duration seconds',
      positiveNumber,
    )
    .option(
      '--connections <mode>',
      "'per-device' (client id = device id, LWT per device; scenario default), 'shared', or a number of shared connections (load default 4)",
    )
    .option('--write-devices <file>', "write the fleet's devices as YAML to FILE and exit")
    .option('--hj212 <host:port>', 'also run HJ 212-2017 stations (TCP) against this listener')
    .option(
      '--hj212-stations <n>',
      'HJ 212 stations, alternately dust and air (default 4 with --hj212)',
      positiveInt,
    )
    .option('--hj212-password <pw>', 'HJ 212 station password (PW)', '123456')
    .option('-v, --verbose', 'log simulator events (pino, to stderr)')
    .action(async (raw: Omit<SimulateOptions, 'qos'> & { qos: string }) => {
      const opts: SimulateOptions = { ...raw, qos: raw.qos === '1' ? 1 : 0 };
      const fleet = buildFleet({
        devices: opts.devices,
        families: opts.families,
        seed: opts.seed,
        models: MODELS,
      });
      const stations = buildHj212Fleet({
        stations: opts.hj212Stations ?? (opts.hj212 ? 4 : 0),
        seed: opts.seed,
        models: MODELS,
        password: opts.hj212Password,
      });
      if (opts.writeDevices) {
        await writeFile(opts.writeDevices, fleetToRegistryYaml(fleet, stations.entries));
        console.log(`wrote ${fleet.length + stations.entries.length} devices to ${opts.writeDevices}`);
        return;
      }
      const hj212Target = opts.hj212 ? parseHostPort(opts.hj212) : undefined;
      const logger = pino({ level: opts.verbose ? 'info' : 'silent' }, pino.destination(2));
      const ac = new AbortController();
      const onSignal = () => ac.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        if (opts.rate !== undefined) await load(opts, fleet, ac.signal, logger);
        else {
          const hj212 = hj212Target
            ? runHj212Stations({
                ...hj212Target,
                stations: stations.specs,
                // Real-time data every 30 scenario seconds and minute data every scenario minute, at least 1 s / 2 s apart.
                intervalMs: Math.max(1000, 30_000 / opts.speed),
                minuteMs: Math.max(2000, 60_000 / opts.speed),
                signal: ac.signal,
                logger,
                seed: opts.seed,
              })
            : undefined;
          if (hj212Target) {
            console.log(`running ${stations.specs.length} HJ 212 stations against ${opts.hj212}`);
          }
          await scenario(opts, fleet, ac, logger);
          const h = await hj212;
          if (h)
            console.log(
              `HJ 212: sent ${h.sent}, answered ${h.acked}, resent ${h.resent}, given up ${h.givenUp}`,
            );
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

async function scenario(
  opts: SimulateOptions,
  fleet: ReturnType<typeof buildFleet>,
  ac: AbortController,
  logger: pino.Logger,
): Promise<void> {
  const mode = opts.connections ?? 'per-device';
  const shared = mode !== 'per-device';
  const runner = new MqttFleetRunner({
    url: opts.url,
    fleet,
    scenario: opts.scenario,
    seed: opts.seed,
    speed: opts.speed,
    qos: opts.qos,
    connection: shared ? 'shared' : 'per-device',
    sharedConnections: Number.parseInt(mode, 10) || 4,
    logger,
  });
  console.log(
    `simulating ${fleet.length} devices (${opts.families.join(', ')}) against ${opts.url}, scenario '${opts.scenario}', speed ${opts.speed}x`,
  );
  const timer = opts.duration ? setTimeout(() => ac.abort(), opts.duration * 1000) : undefined;
  const started = Date.now();
  let last = 0;
  const summary = setInterval(() => {
    const s = runner.stats;
    const rate = ((s.published - last) / 5).toFixed(1);
    last = s.published;
    console.log(
      `${Math.round((Date.now() - started) / 1000)}s  connected ${s.connected}  published ${s.published} (${rate}/s; telemetry ${s.byKind.telemetry}, events ${s.byKind.event}, status ${s.byKind.status})  outages ${s.outages}  errors ${s.errors}`,
    );
  }, 5000);
  try {
    const aborted = new Promise<void>((resolve) => {
      if (ac.signal.aborted) resolve();
      else ac.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([runner.start(), aborted]);
    await aborted;
  } finally {
    clearInterval(summary);
    if (timer) clearTimeout(timer);
    await runner.stop();
  }
  const s = runner.stats;
  console.log(`stopped: published ${s.published}, outages ${s.outages}, errors ${s.errors}`);
}

async function load(
  opts: SimulateOptions,
  fleet: ReturnType<typeof buildFleet>,
  signal: AbortSignal,
  logger: pino.Logger,
): Promise<void> {
  // Load mode shares a few connections by default: it measures message throughput, not connection handling.
  const connections =
    opts.connections === 'per-device' ? 'per-device' : Number.parseInt(opts.connections ?? '4', 10) || 4;
  const durationS = opts.duration ?? 10;
  console.log(
    `load: ${opts.rate} msg/s for ${durationS}s over ${fleet.length} devices, QoS ${opts.qos}, connections ${connections}`,
  );
  const r = await runLoad({
    url: opts.url,
    fleet,
    rate: opts.rate as number,
    durationS,
    qos: opts.qos,
    connections,
    seed: opts.seed,
    signal,
    logger,
  });
  console.log(
    `published ${r.published}/${r.target} in ${(r.elapsedMs / 1000).toFixed(2)}s: ${Math.round(r.achievedRate)} msg/s achieved (target ${opts.rate}), errors ${r.errors}`,
  );
  console.log(JSON.stringify(r));
  if (r.published < r.target) process.exitCode = 1;
}

/** A commander argument parser: the option's value as a number that passes `ok`. */
function numberArg(ok: (n: number) => boolean, expected: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!ok(n)) throw new InvalidArgumentError(`expected ${expected}`);
    return n;
  };
}
const positiveInt = numberArg((n) => Number.isInteger(n) && n > 0, 'a positive integer');
const integer = numberArg(Number.isInteger, 'an integer');
const positiveNumber = numberArg((n) => Number.isFinite(n) && n > 0, 'a positive number');

function familyList(v: string): SensorFamily[] {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((f) => !(SENSOR_FAMILIES as readonly string[]).includes(f));
  if (bad.length > 0 || list.length === 0) {
    throw new InvalidArgumentError(
      `unknown famil${bad.length === 1 ? 'y' : 'ies'} '${bad.join(',')}'; expected some of ${SENSOR_FAMILIES.join(',')}`,
    );
  }
  return list as SensorFamily[];
}
