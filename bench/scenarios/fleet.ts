import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { devicesToCsv } from '../../processors/registry/csv.js';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import { freePort } from '../../scripts/services.js';
import type { FleetStats } from '../../simulators/fleet-connections.js';
import { buildGaugeFleet } from '../../simulators/gauge-fleet.js';
import { scrape } from '../lib/gateway.js';
import { CLI, cpuSeconds, memoryMb, sleep, spawnNode, threadCpuSeconds } from '../lib/proc.js';
import type { BenchContext, Row } from '../lib/types.js';
import {
  deltaCounts,
  type FleetGateway,
  type FleetGatewayConfig,
  labelledCounter,
  startFleetGateway,
  sumStats,
  tcpListenCounters,
  WorkerPool,
} from './fleet-procs.js';

/**
 * Scenario 7, a real fleet (issue 20): every device its own authenticated MQTT connection.
 *
 * 1. The fleet is registered and given secrets the way an operator does it for a batch of devices:
 *    `gridgate devices import FILE --issue-secrets --secrets-out FILE` against the running gateway.
 * 2. A fresh gateway starts on that registry; its RSS and CPU with no connection are the baseline.
 * 3. The load processes connect every device at once (client id = user name = device id, its own
 *    secret, keep-alive 60 s); each device publishes one reading (QoS 1) right after its CONNACK.
 *    Timed: until every device is admitted and its first reading acknowledged.
 * 4. Idle: connections held, keep-alive only. 5. Steady: one reading per device per interval.
 *    Gateway RSS and CPU in both, per 1,000 connections above the baseline.
 * 6. Reconnect storms (`storms` times, under the steady load): the gateway gets SIGTERM and is
 *    started again on the same ports while every device retries on its own (1 s ± 50% after each
 *    failure). Timed: from the new process's spawn until every device is admitted by it and has a
 *    reading acknowledged.
 * The load processes' own CPU is reported beside each phase.
 */
export interface FleetScenarioOptions {
  devices: number;
  /** Load processes. Each holds its devices' sockets: at most ~19,000 under a 20,000 fd limit. */
  workers: number;
  /** Source addresses 127.0.0.2... the connections are spread over (several NAT pools, not one). */
  sources: number;
  intervalS: number;
  idleS: number;
  steadyS: number;
  /** Bound on each wait for the whole fleet to be admitted. */
  timeoutS: number;
  /** Gateway restarts, each timed on its own. */
  storms: number;
}

const KEEPALIVE_S = 60;
const RECONNECT_MS = 1000;
const JITTER = 0.5;

export async function fleetScenario(ctx: BenchContext, o: FleetScenarioOptions): Promise<Row[]> {
  const n = o.devices;
  const per1k = (v: number) => (v / n) * 1000;
  const scenario = `7 fleet: ${n.toLocaleString('en')} devices, 1 connection each`;
  const fleet = buildGaugeFleet(n);
  const devicesFile = join(ctx.dir, 'fleet-devices.csv');
  const secretsFile = join(ctx.dir, 'fleet-secrets.csv');
  await writeFile(devicesFile, devicesToCsv(fleet.map((f) => f.device as unknown as DeviceRecord)));
  const [httpPort, mqttPort] = await Promise.all([freePort(), freePort()]);
  const perSource = Math.ceil(n / o.sources);
  const cfg: FleetGatewayConfig = {
    dir: ctx.dir,
    httpPort,
    mqttPort,
    tsdbUrl: ctx.vmUrl,
    redisUrl: ctx.redisUrl,
    redisPrefix: 'bench:fleet:',
    // Twice each source's share: during a storm an address briefly holds old and new sockets.
    maxConnectionsPerIp: Math.max(5000, 2 * perSource),
  };
  const rows: Row[] = [];
  let gw: FleetGateway | undefined;
  let pool: WorkerPool | undefined;
  const alive = () => {
    const code = gw?.child.proc.exitCode;
    if (code !== null && code !== undefined)
      throw new Error(`gateway exited (${code}): ${gw?.child.stderr().slice(-1500)}`);
  };
  try {
    // 1. Register and issue secrets through the product's own bulk path.
    ctx.log(`${scenario}: devices import --issue-secrets`);
    gw = await startFleetGateway(cfg, 'issue');
    const issueT0 = performance.now();
    const cli = spawnNode([
      ...[CLI, 'devices', 'import', devicesFile, '--issue-secrets'],
      ...['--secrets-out', secretsFile, '--url', gw.httpUrl],
    ]);
    // Bounded even with slow hashing (one rotate per device): ~60 ms each, at least timeoutS.
    const issueLimitMs = Math.max(o.timeoutS * 1000, n * 60);
    const code = await Promise.race([cli.exited, sleep(issueLimitMs).then(() => 'timeout' as const)]);
    const issueMs = performance.now() - issueT0;
    if (code !== 0) {
      await cli.stop('SIGKILL');
      throw new Error(
        `devices import --issue-secrets: ${code === 'timeout' ? 'timed out' : `exit ${code}`}: ${cli.stderr().slice(-500)}`,
      );
    }
    rows.push({
      scenario,
      system: 'register + issue secrets (CLI)',
      msgsPerS: n / (issueMs / 1000),
      note: `devices import --issue-secrets: ${(issueMs / 1000).toFixed(1)} s (CSV import, then one credentials/rotate per device); msg/s = devices/s`,
      detail: { issueMs },
    });
    await gw.child.stop('SIGTERM', 20_000);

    // 2. A fresh gateway on that registry: the baseline with no connection.
    gw = await startFleetGateway(cfg, 'first');
    await sleep(2000);
    const base = await measure(gw.child.pid, [], 5000);
    const rss0 = base.rssMb;

    // 3. Every device connects at once.
    ctx.log(`${scenario}: first connect`);
    pool = await WorkerPool.start({
      host: '127.0.0.1',
      port: mqttPort,
      secretsFile,
      devices: n,
      workers: o.workers,
      sources: Array.from({ length: o.sources }, (_, i) => `127.0.0.${i + 2}`),
      intervalMs: o.intervalS * 1000,
      keepaliveS: KEEPALIVE_S,
      reconnectMs: RECONNECT_MS,
      jitter: JITTER,
      seed: 1,
    });
    const p = pool;
    const firstCpu = cpuMark(gw.child.pid, p.pids);
    const tcp0 = tcpListenCounters();
    const first = await p.waitAdmitted(o.timeoutS * 1000, alive);
    const firstRef = Math.min(...first.stats.map((s) => s.markAt));
    const firstUse = firstCpu.percent();
    const firstTcp = tcpDelta(tcp0);
    const firstRow = admissionRow(scenario, 'first connect, all at once', first, firstRef, o.timeoutS, {
      gatewayCpuPct: firstUse.gateway,
      loadCpuPct: firstUse.load,
      peakRssMb: memoryMb(gw.child.pid)?.peak,
      extra: `gateway start ${(gw.startMs / 1000).toFixed(1)} s; busiest gateway threads ${fmtThreads(firstUse.threads)}; ${fmtTcp(firstTcp)}`,
    });
    firstRow.detail = { ...firstRow.detail, tcp: firstTcp, threads: firstUse.threads };
    rows.push(firstRow);

    // 4. Idle: keep-alive only.
    ctx.log(`${scenario}: idle, then steady`);
    await sleep(2000);
    const idle = await measure(gw.child.pid, p.pids, o.idleS * 1000);
    rows.push({
      scenario,
      system: `idle, keep-alive ${KEEPALIVE_S} s`,
      cpuPct: idle.gateway,
      peakRssMb: idle.peakMb,
      note: `RSS ${idle.rssMb.toFixed(0)} MB: ${signed(per1k(idle.rssMb - rss0), 1)} MB per 1,000 connections over ${rss0.toFixed(0)} MB with none; CPU ${signed(per1k(idle.gateway - base.gateway), 2)}% of a core per 1,000; load generator ${idle.load.toFixed(1)}%`,
      detail: { rss0Mb: rss0, cpu0Pct: base.gateway, rssMb: idle.rssMb, loadCpuPct: idle.load },
    });

    // 5. Steady: one reading per device per interval, after one interval to spread in.
    p.send({ cmd: 'publishing', on: true });
    await sleep(o.intervalS * 1000);
    const c0 = await scrape(
      `${gw.httpUrl}/metrics`,
      'gridgate_messages_received_total',
      'gridgate_tsdb_lines_written_total',
    );
    const t0 = performance.now();
    const steady = await measure(gw.child.pid, p.pids, o.steadyS * 1000);
    const c1 = await scrape(
      `${gw.httpUrl}/metrics`,
      'gridgate_messages_received_total',
      'gridgate_tsdb_lines_written_total',
    );
    const rate = (c1.received - c0.received) / ((performance.now() - t0) / 1000);
    rows.push({
      scenario,
      system: `steady, 1 reading / ${o.intervalS} s each`,
      msgsPerS: rate,
      cpuPct: steady.gateway,
      peakRssMb: steady.peakMb,
      note: `${(n / o.intervalS).toFixed(0)}/s offered; RSS ${steady.rssMb.toFixed(0)} MB (${signed(per1k(steady.rssMb - rss0), 1)} MB per 1,000); CPU ${signed(per1k(steady.gateway - base.gateway), 2)}% per 1,000; load generator ${steady.load.toFixed(1)}%`,
      detail: { rssMb: steady.rssMb, loadCpuPct: steady.load, offeredPerS: n / o.intervalS },
    });

    // 6. Reconnect storms: SIGTERM, then the same gateway again on the same ports, under the steady
    // load. Repeated: when part of the fleet lands in TCP's SYN backoff (1, 2, 4, 8, 16 s) the time
    // jumps by whole backoff steps, so one restart says little about the next.
    for (let k = 1; k <= o.storms; k++) {
      ctx.log(`${scenario}: reconnect storm ${k}/${o.storms}`);
      await sleep(3000);
      const before = sumStats(await p.stats());
      const termAt = Date.now();
      const loadCpu0 = sumCpu(p.pids);
      const stormTcp0 = tcpListenCounters();
      await gw.child.stop('SIGTERM', 20_000);
      const stopMs = Date.now() - termAt;
      // After the old process is gone, so only admissions by the new one count; the stats answer
      // comes after the mark on the same channel, so the mark is in place before the spawn.
      p.send({ cmd: 'mark' });
      await p.stats();
      gw = await startFleetGateway(cfg, `restart-${k}`);
      const g = gw;
      const storm = await p.waitAdmitted(o.timeoutS * 1000, alive);
      const doneAt = Date.now();
      const gwCpu = (((cpuSeconds(g.child.pid) ?? 0) * 1000) / (doneAt - g.spawnedAt)) * 100;
      const stormThreads = busiestThreads(g.child.pid, new Map(), (doneAt - g.spawnedAt) / 1000);
      const loadCpu = (((sumCpu(p.pids) - loadCpu0) * 1000) / (doneAt - termAt)) * 100;
      const after = sumStats(storm.stats);
      const stormTcp = tcpDelta(stormTcp0);
      const refusedByGateway = await labelledCounter(g.httpUrl, 'gridgate_mqtt_auth_refused_total');
      const lastAdmit = Math.max(...storm.stats.map((s) => s.allAdmittedAt ?? Number.NaN));
      const system = `reconnect storm ${k}/${o.storms}: restart`;
      const row = admissionRow(scenario, system, storm, g.spawnedAt, o.timeoutS, {
        gatewayCpuPct: gwCpu,
        loadCpuPct: loadCpu,
        peakRssMb: memoryMb(g.child.pid)?.peak,
        extra: `${((lastAdmit - termAt) / 1000).toFixed(1)} s after SIGTERM (stop ${(stopMs / 1000).toFixed(1)} s, start to /healthz ${(g.startMs / 1000).toFixed(1)} s); refused: ${fmtCounts(refusedByGateway)}; busiest gateway threads ${fmtThreads(stormThreads)}; ${fmtTcp(stormTcp)}`,
      });
      row.detail = {
        ...row.detail,
        fromSigtermMs: lastAdmit - termAt,
        stopMs,
        startMs: g.startMs,
        tcp: stormTcp,
        threads: stormThreads,
        refusedByGateway,
        attempts: after.attempts - before.attempts,
        refusedConnack: deltaCounts(before.refused, after.refused),
        socketErrors: deltaCounts(before.socketErrors, after.socketErrors),
        connectTimeouts: after.connectTimeouts - before.connectTimeouts,
      };
      rows.push(row);
      if (!storm.all) break; // the fleet is not whole: a further restart would measure the rest
    }
  } finally {
    await pool?.stop();
    await gw?.child.stop('SIGTERM', 20_000);
  }
  return rows;
}

/** A row for a wait until every device was admitted: rate, per-device times, who used what. */
function admissionRow(
  scenario: string,
  system: string,
  r: { all: boolean; stats: FleetStats[] },
  refAt: number,
  timeoutS: number,
  m: { gatewayCpuPct: number; loadCpuPct: number; peakRssMb?: number; extra: string },
): Row {
  const total = sumStats(r.stats);
  const lastAt = Math.max(...r.stats.map((s) => s.allAdmittedAt ?? Number.NaN));
  const ms = r.all ? lastAt - refAt : undefined;
  // Per-device times are each worker's, shifted to the common reference; with several workers the
  // percentile shown is the worst worker's (one worker: exact).
  const pct = (k: 'p50' | 'p99' | 'max') =>
    Math.max(...r.stats.map((s) => (s.admitMs ? s.admitMs[k] + s.markAt - refAt : Number.NaN)));
  const head = r.all
    ? `all ${total.devices.toLocaleString('en')} admitted and publishing in ${((ms as number) / 1000).toFixed(1)} s`
    : `NOT all admitted within ${timeoutS} s: ${total.admitted.toLocaleString('en')} of ${total.devices.toLocaleString('en')}`;
  return {
    scenario,
    system,
    msgsPerS: ms === undefined ? undefined : total.devices / (ms / 1000),
    p50Ms: pct('p50'),
    p99Ms: pct('p99'),
    maxMs: pct('max'),
    cpuPct: m.gatewayCpuPct,
    peakRssMb: m.peakRssMb,
    note: `${head}; ${m.extra}; load generator CPU ${m.loadCpuPct.toFixed(0)}%; msg/s = admissions/s`,
    detail: {
      devices: total.devices,
      admitted: total.admitted,
      allAdmitted: r.all,
      admitMs: ms,
      loadCpuPct: m.loadCpuPct,
      refusedConnack: total.refused,
    },
  };
}

function sumCpu(pids: readonly number[]): number {
  return pids.reduce((s, pid) => s + (cpuSeconds(pid) ?? 0), 0);
}

/** CPU % of one core of the gateway (and its busiest threads) and of the load processes since this call. */
function cpuMark(gatewayPid: number, loadPids: readonly number[]) {
  const t0 = performance.now();
  const g0 = cpuSeconds(gatewayPid) ?? 0;
  const threads0 = threadCpuSeconds(gatewayPid);
  const l0 = sumCpu(loadPids);
  return {
    percent() {
      const dt = (performance.now() - t0) / 1000;
      return {
        gateway: (((cpuSeconds(gatewayPid) ?? g0) - g0) / dt) * 100,
        load: ((sumCpu(loadPids) - l0) / dt) * 100,
        threads: busiestThreads(gatewayPid, threads0, dt),
      };
    },
  };
}

/**
 * The gateway's three busiest OS threads since `before` (% of one core): one thread near 100% while
 * the process total is well under the machine's cores means that thread is the bottleneck.
 */
function busiestThreads(
  pid: number,
  before: ReturnType<typeof threadCpuSeconds>,
  seconds: number,
): { name: string; tid: number; pct: number }[] {
  return [...threadCpuSeconds(pid)]
    .map(([tid, t]) => ({ name: t.name, tid, pct: ((t.cpu - (before.get(tid)?.cpu ?? 0)) / seconds) * 100 }))
    .sort((a, b) => b.pct - a.pct)
    .slice(0, 3);
}

function fmtThreads(t: readonly { name: string; tid: number; pct: number }[]): string {
  return t.map((x) => `${x.name}#${x.tid} ${x.pct.toFixed(0)}%`).join(', ');
}

/** CPU of the gateway and the load over `ms`, and the gateway's RSS: mean of samples every 500 ms (GC makes one sample noisy). */
async function measure(gatewayPid: number, loadPids: readonly number[], ms: number) {
  const c = cpuMark(gatewayPid, loadPids);
  const samples: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await sleep(Math.min(500, Math.max(0, end - performance.now())));
    const m = memoryMb(gatewayPid);
    if (m) samples.push(m.rss);
  }
  return {
    ...c.percent(),
    rssMb: samples.reduce((a, b) => a + b, 0) / samples.length,
    peakMb: memoryMb(gatewayPid)?.peak,
  };
}

function tcpDelta(before: ReturnType<typeof tcpListenCounters>) {
  const now = tcpListenCounters();
  return {
    listenOverflows: now.listenOverflows - before.listenOverflows,
    listenDrops: now.listenDrops - before.listenDrops,
    synRetrans: now.synRetrans - before.synRetrans,
  };
}

function fmtTcp(t: ReturnType<typeof tcpDelta>): string {
  return `kernel: ${t.listenOverflows.toLocaleString('en')} listen-queue overflows, ${t.synRetrans.toLocaleString('en')} SYN retransmits`;
}

function signed(v: number, digits: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
}

function fmtCounts(c: Record<string, number>): string {
  const e = Object.entries(c);
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k} ${v}`).join(', ');
}
