import { freePort } from '../../scripts/services.js';
import { type BurstResult, medianBurst } from '../lib/burst.js';
import { scrape, startGateway } from '../lib/gateway.js';
import { type Child, DIST, spawnNode, waitHttp } from '../lib/proc.js';
import { bestThroughput, type ThroughputResult } from '../lib/throughput.js';
import type { BenchContext, Row } from '../lib/types.js';

/**
 * Scenarios 1 and 2: saturation throughput of the full gateway against a bare baseline on the same
 * broker and the same database. Scenario 1: the embedded aedes broker, QoS 0 and 1. Scenario 2:
 * mosquitto with gridgate (and the baseline) as subscribers, sustained and in bursts.
 */

/** Burst runs per system; the median is its row. */
const BURST_RUNS = 3;

type Best = ThroughputResult & { workers: number; attempts: { workers: number; msgsPerS: number }[] };

/** `1 load worker 84.5k, 2: 83.7k`. */
function attempts(r: Best): string {
  return r.attempts
    .map(
      (a, i) =>
        `${i === 0 ? `${a.workers} load worker${a.workers === 1 ? '' : 's'}` : a.workers}: ${(a.msgsPerS / 1000).toFixed(1)}k`,
    )
    .join(', ');
}

function row(scenario: string, system: string, r: Best, baseline?: Best): Row {
  return {
    scenario,
    system,
    msgsPerS: r.msgsPerS,
    cpuPct: r.cpuPct,
    peakRssMb: r.peakRssMb,
    ratio: baseline ? r.msgsPerS / baseline.msgsPerS : 1,
    note: [
      `best of ${attempts(r)}`,
      r.deliveredPct < 99.5 ? `delivered ${r.deliveredPct.toFixed(1)}% of published` : '',
    ]
      .filter(Boolean)
      .join('; '),
    detail: { ...r },
  };
}

type Burst = BurstResult & { runs: number[] };

/** msg/s = messages / (first taken in -> last line accepted by the database). */
function burstRow(scenario: string, system: string, r: Burst, baseline?: Burst): Row {
  return {
    scenario,
    system,
    msgsPerS: r.msgsPerS,
    maxMs: r.drainMs,
    ratio: baseline ? r.msgsPerS / baseline.msgsPerS : 1,
    note: `median of ${r.runs.length}: ${r.runs.map((x) => `${(x / 1000).toFixed(1)}k`).join(', ')}; max ms = first in -> last line in the database`,
    detail: { ...r },
  };
}

async function startBaseline(script: string, args: string[]): Promise<{ child: Child; url: string }> {
  const http = await freePort();
  const child = spawnNode([`${DIST}/bench/${script}`, ...args, '--http-port', String(http)]);
  const url = `http://127.0.0.1:${http}/metrics`;
  await waitHttp(url, 20_000, child);
  return { child, url };
}

const counters = (url: string) => () =>
  scrape(url, 'gridgate_messages_received_total', 'gridgate_tsdb_lines_written_total');

export async function embeddedScenario(ctx: BenchContext, qos: 0 | 1): Promise<{ rows: Row[]; max: number }> {
  const scenario = `1 embedded broker, ${ctx.devices} dev, QoS ${qos}`;
  const load = {
    devices: ctx.devices,
    rate: ctx.offeredRate,
    durationS: ctx.durationS,
    qos,
  };
  ctx.log(`${scenario}: baseline (bare aedes)`);
  const port = await freePort();
  const base = await startBaseline('baseline-aedes.js', ['--mqtt-port', String(port), '--tsdb', ctx.vmUrl]);
  let b: Best;
  try {
    b = await bestThroughput(
      { pid: base.child.pid, counters: counters(base.url), stderr: base.child.stderr },
      { ...load, url: `mqtt://127.0.0.1:${port}` },
      ctx.workers,
      { victoriametrics: ctx.vmPid },
    );
  } finally {
    await base.child.stop();
  }
  ctx.log(`${scenario}: gridgate`);
  const gw = await startGateway({
    dir: ctx.dir,
    name: `s1q${qos}`,
    tsdbUrl: ctx.vmUrl,
    redisUrl: ctx.redisUrl,
    redisPrefix: `bench:s1q${qos}:`,
    devicesFile: ctx.fleetFile,
  });
  let g: Best;
  try {
    g = await bestThroughput(
      { pid: gw.child.pid, counters: gw.counters, stderr: gw.child.stderr },
      { ...load, url: gw.mqttUrl },
      ctx.workers,
      { victoriametrics: ctx.vmPid },
    );
  } finally {
    await gw.stop();
  }
  return {
    rows: [row(scenario, 'baseline: bare aedes + JSON.parse', b), row(scenario, 'gridgate start', g, b)],
    max: g.msgsPerS,
  };
}

export async function externalScenario(ctx: BenchContext): Promise<Row[]> {
  const scenario = `2 mosquitto -> subscriber, ${ctx.devices} dev, QoS 0 publish`;
  const load = {
    url: ctx.mosquittoUrl,
    devices: ctx.devices,
    rate: ctx.offeredRate,
    durationS: ctx.durationS,
    qos: 0 as const,
  };
  const others = { victoriametrics: ctx.vmPid, mosquitto: ctx.mosquittoPid };
  ctx.log(`${scenario}: baseline (bare mqtt.js subscriber)`);
  const base = await startBaseline('baseline-mqtt.js', ['--url', ctx.mosquittoUrl, '--tsdb', ctx.vmUrl]);
  const burst = { url: ctx.mosquittoUrl, devices: ctx.devices, messages: ctx.burstMessages, qos: 0 as const };
  let b: Best;
  let bb: Burst;
  try {
    const sut = { pid: base.child.pid, counters: counters(base.url), stderr: base.child.stderr };
    b = await bestThroughput(sut, load, ctx.workers, others);
    ctx.log(`${scenario}: baseline, ${BURST_RUNS} bursts of ${ctx.burstMessages}`);
    bb = await medianBurst(sut, burst, BURST_RUNS);
  } finally {
    await base.child.stop();
  }
  ctx.log(`${scenario}: gridgate`);
  const gw = await startGateway({
    dir: ctx.dir,
    name: 's2',
    tsdbUrl: ctx.vmUrl,
    redisUrl: ctx.redisUrl,
    redisPrefix: 'bench:s2:',
    devicesFile: ctx.fleetFile,
    externalMqttUrl: ctx.mosquittoUrl,
  });
  let g: Best;
  let gb: Burst;
  try {
    // The gateway's subscription is in place once it reports healthy (it subscribes on connect).
    const sut = { pid: gw.child.pid, counters: gw.counters, stderr: gw.child.stderr };
    g = await bestThroughput(sut, load, ctx.workers, others);
    ctx.log(`${scenario}: gridgate, ${BURST_RUNS} bursts of ${ctx.burstMessages}`);
    gb = await medianBurst(sut, burst, BURST_RUNS);
  } finally {
    await gw.stop();
  }
  const burstScenario = `2 mosquitto -> subscriber, burst of ${ctx.burstMessages.toLocaleString('en')} msgs`;
  return [
    row(scenario, 'baseline: bare mqtt.js subscriber', b),
    row(scenario, 'gridgate start (mqtt.url)', g, b),
    burstRow(burstScenario, 'baseline: bare mqtt.js subscriber', bb),
    burstRow(burstScenario, 'gridgate start (mqtt.url)', gb, bb),
  ];
}
