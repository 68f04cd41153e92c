import type { Counters } from './gateway.js';
import { spawnLoad } from './load.js';
import { type Child, CpuMeter, lastJson, memoryMb, sleep } from './proc.js';

/**
 * Saturation run: load workers offer more than the system under test can take (each publish waits
 * for socket drain, so the sender is paced by TCP back-pressure, never by an unbounded queue), and
 * the rate is what the system under test *processed* in the steady window — from 3 s after the
 * load starts (connections up, JIT warm) to the end of the load — read from its own counters.
 * Then the run waits for the tail to drain and reports how much of what was published was taken
 * in and how many lines the database accepted.
 */
export interface LoadSpec {
  url: string;
  devices: number;
  rate: number;
  durationS: number;
  qos: 0 | 1;
  workers?: number;
  connections?: number;
  /** Another sender instead of load workers (it prints {sent} or {published} as its last JSON line). */
  spawn?: () => Child[];
}

export interface SystemUnderTest {
  pid: number;
  counters(): Promise<Counters>;
  /** Its stderr, quoted when it stops answering. */
  stderr?(): string;
}

export interface ThroughputResult {
  published: number;
  received: number;
  written: number;
  /** Messages/s taken in by the system under test in the steady window. */
  msgsPerS: number;
  /** Lines/s the database accepted from it in the same window. */
  linesPerS: number;
  /** Received / published after drain, %. */
  deliveredPct: number;
  cpuPct: number;
  peakRssMb: number;
  loadCpuPct: number;
  /** CPU % of other processes in the path (database, external broker), by name. */
  others: Record<string, number>;
  windowS: number;
}

interface LoadResultLine {
  published?: number;
  sent?: number;
  errors: number;
  elapsedMs: number;
}

const WARMUP_MS = 3000;

export async function measureThroughput(
  sutIn: SystemUnderTest,
  load: LoadSpec,
  others: Record<string, number> = {},
): Promise<ThroughputResult> {
  const sut: SystemUnderTest = {
    ...sutIn,
    counters: () =>
      sutIn.counters().catch((err: Error) => {
        throw new Error(
          `process under test stopped answering (${err.message}):\n${sutIn.stderr?.() ?? ''}`.slice(0, 3000),
        );
      }),
  };
  const c0 = await sut.counters();
  const workers = load.workers ?? 1;
  const perWorker = load.rate / workers;
  const loaders = load.spawn
    ? load.spawn()
    : Array.from({ length: workers }, (_, i) =>
        spawnLoad({
          url: load.url,
          devices: load.devices,
          rate: perWorker,
          durationS: load.durationS,
          qos: load.qos,
          connections: load.connections ?? 4,
          seed: i + 1,
        }),
      );
  let done = false;
  const allDone = Promise.all(loaders.map((l) => l.exited)).then(() => {
    done = true;
  });
  await Promise.race([sleep(WARMUP_MS), allDone]);
  const cw0 = await sut.counters();
  const cpu = new CpuMeter(sut.pid);
  const loaderCpu = loaders.map((l) => new CpuMeter(l.pid));
  const otherCpu = Object.entries(others).map(([k, pid]) => [k, new CpuMeter(pid)] as const);
  const t0 = performance.now();
  const loadPcts = loaderCpu.map(() => 0);
  while (!done) {
    await sleep(200);
    // Sample while the loaders live: /proc/<pid> is gone after they exit.
    loaderCpu.forEach((m, i) => {
      if (loaders[i]?.proc.exitCode === null) loadPcts[i] = m.percent();
    });
  }
  const loadPct = loadPcts.reduce((s, p) => s + p, 0);
  const cw1 = await sut.counters();
  const t1 = performance.now();
  const cpuPct = cpu.percent();
  const otherPct = Object.fromEntries(otherCpu.map(([k, m]) => [k, m.percent()]));
  const windowS = (t1 - t0) / 1000;
  const published = loaders.reduce((s, l) => {
    const j = lastJson<LoadResultLine>(l);
    return s + (j.published ?? j.sent ?? 0);
  }, 0);

  // Drain: what was published reaches the subscriber, then the writer's last flush lands.
  let last = await sut.counters();
  let stableSince = performance.now();
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    await sleep(250);
    const c = await sut.counters();
    if (c.received !== last.received || c.written !== last.written) stableSince = performance.now();
    last = c;
    const allIn = c.received - c0.received >= published;
    if (performance.now() - stableSince > (allIn ? 1500 : 3000)) break;
  }
  const received = last.received - c0.received;
  return {
    published,
    received,
    written: last.written - c0.written,
    msgsPerS: (cw1.received - cw0.received) / windowS,
    linesPerS: (cw1.written - cw0.written) / windowS,
    deliveredPct: published > 0 ? (received / published) * 100 : 0,
    cpuPct,
    peakRssMb: memoryMb(sut.pid)?.peak ?? 0,
    loadCpuPct: loadPct,
    others: otherPct,
    windowS,
  };
}

/**
 * The same system under each load-worker count; the run with the highest rate is its result (its
 * detail lists every attempt). A process under test serves all attempts: counters are windowed.
 */
export async function bestThroughput(
  sut: SystemUnderTest,
  load: Omit<LoadSpec, 'workers'>,
  workerCounts: readonly number[],
  others: Record<string, number> = {},
): Promise<ThroughputResult & { workers: number; attempts: { workers: number; msgsPerS: number }[] }> {
  let best: (ThroughputResult & { workers: number }) | undefined;
  const attempts: { workers: number; msgsPerS: number }[] = [];
  for (const workers of workerCounts) {
    const r = await measureThroughput(sut, { ...load, workers }, others);
    attempts.push({ workers, msgsPerS: Math.round(r.msgsPerS) });
    if (!best || r.msgsPerS > best.msgsPerS) best = { ...r, workers };
  }
  if (!best) throw new Error('no load-worker count to try');
  return { ...best, attempts };
}
