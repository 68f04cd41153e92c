import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type RunningService, startVictoriaMetrics } from '../../scripts/services.js';
import { scrape, startGateway } from '../lib/gateway.js';
import { spawnLoad } from '../lib/load.js';
import { lastJson, memoryMb, sleep } from '../lib/proc.js';
import type { BenchContext, Row } from '../lib/types.js';

/**
 * Scenario 8, soak: the gateway at a steady load for minutes while its database flaps (stopped with
 * SIGTERM for `downS` of every `everyS`, on its own VictoriaMetrics, so the other scenarios' database
 * is left alone). Sampled every few seconds: resident memory and open file descriptors (its
 * handles: sockets, spool files, pipes). Flat means the last minute's median RSS is within a few
 * percent of the second minute's, and the descriptors end where they started. Afterwards the spool
 * must drain and every published message be accepted by the database.
 */
export interface SoakOptions {
  seconds: number;
  rate: number;
  everyS: number;
  downS: number;
}

const SAMPLE_MS = 5000;

function fds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function soakScenario(ctx: BenchContext, o: SoakOptions): Promise<Row[]> {
  const scenario = `8 soak: ${o.seconds} s at ${o.rate.toLocaleString('en')} msg/s, database down ${o.downS} s of every ${o.everyS}`;
  const port = await freePort();
  const vmDir = join(ctx.dir, 'soak-vm');
  let vm: RunningService | undefined = await startVictoriaMetrics(vmDir, port);
  const gw = await startGateway({
    dir: ctx.dir,
    name: 'soak',
    tsdbUrl: vm.url,
    redisUrl: ctx.redisUrl,
    redisPrefix: 'bench:soak:',
    devicesFile: ctx.fleetFile,
  });
  const samples: { t: number; rss: number; fds: number; spool: number }[] = [];
  let flaps = 0;
  let published = 0;
  try {
    const t0 = performance.now();
    const load = spawnLoad({
      url: gw.mqttUrl,
      devices: ctx.devices,
      rate: o.rate,
      durationS: o.seconds,
      qos: 1,
    });
    let nextFlap = t0 + (o.everyS - o.downS) * 1000;
    while (load.proc.exitCode === null) {
      await sleep(SAMPLE_MS);
      const spool = await scrape(
        `${gw.httpUrl}/metrics`,
        'gridgate_tsdb_spool_lines',
        'gridgate_tsdb_spool_bytes',
      );
      samples.push({
        t: (performance.now() - t0) / 1000,
        rss: memoryMb(gw.child.pid)?.rss ?? Number.NaN,
        fds: fds(gw.child.pid),
        spool: spool.received,
      });
      if (vm && performance.now() >= nextFlap) {
        await vm.stop();
        vm = undefined;
        flaps++;
        setTimeout(() => {
          void startVictoriaMetrics(vmDir, port).then((v) => {
            vm = v;
          });
        }, o.downS * 1000);
        nextFlap += o.everyS * 1000;
      }
    }
    published = lastJson<{ published: number }>(load).published;
    // The database back for good, then the spool drains.
    while (!vm) await sleep(200);
    const deadline = performance.now() + 120_000;
    let c = await gw.counters();
    while (c.received < published && performance.now() < deadline) {
      await sleep(1000);
      c = await gw.counters();
    }
    let spool = 1;
    while (spool > 0 && performance.now() < deadline) {
      await sleep(1000);
      spool = (await scrape(`${gw.httpUrl}/metrics`, 'gridgate_tsdb_spool_lines', 'x')).received;
    }
    const end = { rss: memoryMb(gw.child.pid)?.rss ?? Number.NaN, fds: fds(gw.child.pid) };
    const second = samples.filter((s) => s.t > 60 && s.t <= 120).map((s) => s.rss);
    const last = samples.filter((s) => s.t > o.seconds - 60).map((s) => s.rss);
    const rssSecond = median(second);
    const rssLast = median(last);
    const fds0 = samples[0]?.fds ?? Number.NaN;
    return [
      {
        scenario,
        system: 'gridgate start (embedded broker, QoS 1)',
        msgsPerS: published / o.seconds,
        peakRssMb: Math.max(...samples.map((s) => s.rss)),
        note: [
          `RSS median ${rssSecond.toFixed(0)} MB in minute 2, ${rssLast.toFixed(0)} MB in the last minute (${(((rssLast - rssSecond) / rssSecond) * 100).toFixed(1)}%)`,
          `open fds ${fds0} at 5 s, ${end.fds} after the drain (max ${Math.max(...samples.map((s) => s.fds))})`,
          `${flaps} outages, spool up to ${Math.max(...samples.map((s) => s.spool)).toLocaleString('en')} lines, ${spool === 0 ? 'drained' : `${spool} lines left`}`,
          `received ${c.received.toLocaleString('en')} of ${published.toLocaleString('en')} published`,
        ].join('; '),
        detail: {
          samples,
          published,
          received: c.received,
          written: c.written,
          flaps,
          end,
          rssSecond,
          rssLast,
          fds0,
          drained: spool === 0,
        },
      },
    ];
  } finally {
    await gw.stop();
    await vm?.stop();
  }
}
