import type { Counters } from './gateway.js';
import { spawnLoad } from './load.js';
import { lastJson, sleep } from './proc.js';
import type { SystemUnderTest } from './throughput.js';

/**
 * Burst run: N messages published as fast as the broker takes them, and the time from the first
 * message the system under test takes in to the last line the database accepts from it (its own
 * counters, polled). Rate = N / that time: what a storm of readings costs end to end, including
 * the writer's last partial batch.
 */
export interface BurstSpec {
  url: string;
  devices: number;
  messages: number;
  qos: 0 | 1;
}

export interface BurstResult {
  messages: number;
  received: number;
  /** First message taken in -> last line accepted by the database, ms. */
  drainMs: number;
  msgsPerS: number;
}

const POLL_MS = 20;
/** The database accepted the last line when nothing changed for this long after all were taken in. */
const QUIET_MS = 2000;

export async function measureBurst(sut: SystemUnderTest, spec: BurstSpec): Promise<BurstResult> {
  const c0 = await sut.counters();
  const loader = spawnLoad({ url: spec.url, devices: spec.devices, count: spec.messages, qos: spec.qos });
  let first: number | undefined;
  let lastChange = 0;
  let last: Counters = c0;
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    await sleep(POLL_MS);
    const c = await sut.counters();
    const t = performance.now();
    if (first === undefined && c.received > c0.received) first = t;
    if (c.received !== last.received || c.written !== last.written) lastChange = t;
    last = c;
    const allIn = c.received - c0.received >= spec.messages;
    if (allIn && t - lastChange > QUIET_MS) break;
    if (loader.proc.exitCode !== null && !allIn && t - lastChange > 3 * QUIET_MS) break;
  }
  await loader.exited;
  const sent = lastJson<{ published?: number }>(loader).published ?? 0;
  if (sent < spec.messages) throw new Error(`burst load published ${sent} of ${spec.messages}`);
  const drainMs = first === undefined ? Number.NaN : lastChange - first;
  const received = last.received - c0.received;
  return { messages: spec.messages, received, drainMs, msgsPerS: (received / drainMs) * 1000 };
}

/** Several bursts against one system; the median run by rate is its result. */
export async function medianBurst(sut: SystemUnderTest, spec: BurstSpec, runs: number) {
  const all: BurstResult[] = [];
  for (let i = 0; i < runs; i++) {
    all.push(await measureBurst(sut, spec));
    await sleep(1000);
  }
  const sorted = [...all].sort((a, b) => a.msgsPerS - b.msgsPerS);
  return {
    ...(sorted[Math.floor(sorted.length / 2)] as BurstResult),
    runs: all.map((r) => Math.round(r.msgsPerS)),
  };
}
