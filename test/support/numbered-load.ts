import { connectAsync, type MqttClient } from 'mqtt';
import { exportSeries, forceFlush } from './vm.js';

/**
 * Numbered readings for the fault tests: reading k goes to device k mod D as a Hydrotek WL300
 * payload whose timestamp is t0 + k ms, so every reading is its own sample and the database tells
 * afterwards, by timestamp, which numbers it holds and how often. (The level stays within the
 * model's range, k mod 100,000 mm: a level past it would be rejected as out_of_range, rightly.)
 */
export interface NumberedLoad {
  /** Readings published and acknowledged by the broker (QoS 1 PUBACK), by number. */
  readonly acked: Set<number>;
  readonly sent: number;
  /** Resolves when the load has sent what it was asked to. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export function numberedDevices(run: string, devices: number): { id: string; model: string }[] {
  return Array.from({ length: devices }, (_, d) => ({ id: `${run}-${d}`, model: 'hydrotek-wl300' }));
}

/** `rate` readings/s for `seconds`, over `devices` connections (one per device, QoS 1). */
export async function startNumberedLoad(opts: {
  url: string;
  run: string;
  devices: number;
  rate: number;
  seconds: number;
  t0: number;
}): Promise<NumberedLoad> {
  const clients: MqttClient[] = await Promise.all(
    numberedDevices(opts.run, opts.devices).map((d) =>
      connectAsync(opts.url, { clientId: d.id, clean: true, reconnectPeriod: 200 }),
    ),
  );
  const acked = new Set<number>();
  const total = Math.round(opts.rate * opts.seconds);
  let sent = 0;
  let stopped = false;
  const start = performance.now();
  const done = new Promise<void>((resolve) => {
    const tick = () => {
      if (stopped) return resolve();
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * opts.rate));
      for (; sent < due; sent++) {
        const k = sent;
        const d = k % opts.devices;
        const payload = JSON.stringify({ ts: (opts.t0 + k) / 1000, wl: k % 100_000 });
        (clients[d] as MqttClient).publish(
          `devices/${opts.run}-${d}/telemetry`,
          payload,
          { qos: 1 },
          (err) => {
            if (!err) acked.add(k);
          },
        );
      }
      if (sent >= total) return resolve();
      setTimeout(tick, 10);
    };
    tick();
  });
  return {
    acked,
    get sent() {
      return sent;
    },
    done,
    async stop() {
      stopped = true;
      await done;
      await Promise.all(clients.map((c) => c.endAsync(false)));
    },
  };
}

/** What the database holds of a run: the numbers (timestamp - t0) and how many samples in all. */
export async function storedNumbers(
  vmUrl: string,
  run: string,
  t0: number,
): Promise<{ numbers: Set<number>; samples: number }> {
  await forceFlush(vmUrl);
  const series = await exportSeries(vmUrl, `flood_water_level_m{device=~"${run}-.*"}`);
  const numbers = new Set<number>();
  let samples = 0;
  for (const s of series) {
    for (const t of s.timestamps) {
      numbers.add(t - t0);
      samples++;
    }
  }
  return { numbers, samples };
}

/** Polls until the database holds at least `expected` samples of the run, or the deadline passes. */
export async function waitStored(
  vmUrl: string,
  run: string,
  t0: number,
  expected: number,
  timeoutMs: number,
): Promise<{ numbers: Set<number>; samples: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = await storedNumbers(vmUrl, run, t0);
  while (last.samples < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    last = await storedNumbers(vmUrl, run, t0);
  }
  return last;
}

/** Sent / stored / lost / duplicated, as the closing note reports them. */
export function lossReport(acked: ReadonlySet<number>, stored: { numbers: Set<number>; samples: number }) {
  let lost = 0;
  for (const k of acked) if (!stored.numbers.has(k)) lost++;
  return {
    acked: acked.size,
    stored: stored.numbers.size,
    lost,
    duplicated: stored.samples - stored.numbers.size,
  };
}
