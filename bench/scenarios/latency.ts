import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { connect, type MqttClient } from 'mqtt';
import accessModel from '../../processors/devices/access/gatekeeper-ac100.js';
import dustModel from '../../processors/devices/dust/clearsite-ds7.js';
import type { Device } from '../../processors/types.js';
import { freePort } from '../../scripts/services.js';
import { encodeEvent, encodeTelemetry, topicFor } from '../../simulators/encode.js';
import { placeDevice } from '../../simulators/fleet.js';
import { waitConnect } from '../../simulators/mqtt-wait.js';
import { createRng } from '../../simulators/prng.js';
import { startGateway } from '../lib/gateway.js';
import { spawnLoad } from '../lib/load.js';
import { ProbeProxy } from '../lib/probe-proxy.js';
import { sleep } from '../lib/proc.js';
import { percentiles } from '../lib/stats.js';
import type { BenchContext, Row } from '../lib/types.js';

/**
 * Scenario 3: latency under background load at 20/50/80 % of scenario 1's maximum (a load worker,
 * QoS 0), measured with two probe devices on their own connections:
 * - publish -> point accepted by the database: the dust probe (ClearSite DS7, epoch-ms timestamps)
 *   sends its send time as the reading time every 50 ms; ProbeProxy timestamps the database's 2xx
 *   for the batch holding it: the writer's batching (a batch goes when no request is in flight).
 * - publish -> PUBACK: the same probe publishes at QoS 1, acknowledged once the message is in the
 *   gateway's intake log on disk.
 * - publish -> alert job in the BullMQ queue: the access probe (GateKeeper AC100) sends a forced
 *   door (rule access.door-forced fires at once) on a new door each time, one at a time, every
 *   250 ms; latency is the job's timestamp (set by the gateway's Queue.add) minus the send time.
 */

export const PROBE_DUST = 'probe-dust';
export const PROBE_ACCESS = 'probe-access';
/** Pause between one alert probe's job and the next probe. */
const ALERT_PROBE_GAP_MS = 20;

export function probeDevices(): Device[] {
  const rng = createRng(99);
  return [
    placeDevice(PROBE_DUST, 'dust', dustModel.id, rng.fork(PROBE_DUST)),
    placeDevice(PROBE_ACCESS, 'access', accessModel.id, rng.fork(PROBE_ACCESS)),
  ];
}

async function client(url: string, id: string): Promise<MqttClient> {
  const c = connect(url, { clientId: id, clean: true, reconnectPeriod: 1000 });
  if (!(await waitConnect(c))) throw new Error(`probe ${id} cannot connect to ${url}`);
  return c;
}

/**
 * prom-client samples the loop with a timer of this period, and Node's histogram records the whole
 * period between two runs of that timer, so an idle loop reads this much.
 */
const LAG_RESOLUTION_MS = 10;

/**
 * The gateway thread's event-loop delay since the last scrape (prom-client resets its histogram at
 * each collect) and its GC pauses so far: what an alert waits behind besides its own work.
 */
async function loopStats(httpUrl: string) {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const one = (name: string) =>
    Number(new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const sum = (name: string) => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${name}\\{[^}]*\\} ([0-9.eE+-]+)$`, 'gm')))
      total += Number(m[1]);
    return total;
  };
  return {
    lagP99Ms: one('gridgate_process_nodejs_eventloop_lag_p99_seconds') * 1000 - LAG_RESOLUTION_MS,
    lagMaxMs: one('gridgate_process_nodejs_eventloop_lag_max_seconds') * 1000 - LAG_RESOLUTION_MS,
    gcS: sum('gridgate_process_nodejs_gc_duration_seconds_sum'),
    gcCount: sum('gridgate_process_nodejs_gc_duration_seconds_count'),
  };
}

export async function latencyScenario(ctx: BenchContext, maxRate: number): Promise<Row[]> {
  const proxy = new ProbeProxy(ctx.vmUrl, PROBE_DUST, 'dust');
  const tsdbUrl = await proxy.listen(await freePort());
  const queueName = `bench-alerts-${process.pid}-${Date.now()}`;
  const gw = await startGateway({
    dir: ctx.dir,
    name: 'latency',
    tsdbUrl,
    redisUrl: ctx.redisUrl,
    redisPrefix: `bench:lat:${Date.now()}:`,
    devicesFile: ctx.fleetFile,
    dispatchQueue: queueName,
  });
  const connection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
  // The alert probe waiting for its job: called with the job's timestamp when it arrives.
  let onProbeJob: ((at: number) => void) | undefined;
  const worker = new Worker(
    queueName,
    async (job) => {
      const data = job.data as { rule?: { id: string }; type?: string };
      if (data.rule?.id === 'access.door-forced' && data.type === 'alert.firing') onProbeJob?.(job.timestamp);
    },
    { connection, concurrency: 4 },
  );
  const rows: Row[] = [];
  let door = 100;
  let dustProbe: MqttClient | undefined;
  let accessProbe: MqttClient | undefined;
  // Everything started above is stopped in `finally`, also when a probe cannot connect.
  try {
    dustProbe = await client(gw.mqttUrl, PROBE_DUST);
    accessProbe = await client(gw.mqttUrl, PROBE_ACCESS);
    const dust = dustProbe;
    const access = accessProbe;
    for (const pct of [20, 50, 80]) {
      const rate = Math.max(100, Math.round((maxRate * pct) / 100));
      ctx.log(`3 latency at ${pct}% of max (${rate} msg/s)`);
      const loader = spawnLoad({
        url: gw.mqttUrl,
        devices: ctx.devices,
        rate,
        durationS: ctx.durationS,
        qos: 0,
      });
      await sleep(3000); // connections up, steady state
      proxy.latencies.length = 0;
      const loop0 = await loopStats(gw.httpUrl);
      const alertLat: number[] = [];
      const ackLat: number[] = [];
      let alertMissed = 0;
      let running = true;
      const dustLoop = (async () => {
        while (running) {
          const payload = JSON.stringify(
            encodeTelemetry(dustModel, { pm10_ugm3: 40, pm25_ugm3: 20, rssi_dbm: -70 }, Date.now()),
          );
          const sentAt = performance.now();
          // QoS 1: the PUBACK comes once the message is in the gateway's intake log on disk.
          dust.publish(topicFor(dustModel, 'telemetry', PROBE_DUST), payload, { qos: 1 }, (err) => {
            if (!err) ackLat.push(performance.now() - sentAt);
          });
          await sleep(50);
        }
      })();
      const alertLoop = (async () => {
        while (running) {
          const d = door++;
          const job = new Promise<number | undefined>((resolve) => {
            const timer = setTimeout(() => resolve(undefined), 2000);
            onProbeJob = (at) => {
              clearTimeout(timer);
              resolve(at);
            };
          });
          const sentAt = Date.now();
          access.publish(
            topicFor(accessModel, 'event', PROBE_ACCESS),
            JSON.stringify(
              encodeEvent(accessModel, { event: 'door_forced', door: String(d), method: 'card' }, sentAt),
            ),
            { qos: 0 },
          );
          const got = await job;
          onProbeJob = undefined;
          if (got === undefined) alertMissed++;
          else alertLat.push(got - sentAt);
          // ~250-400 probes per level: enough that p99 is a percentile (with ~90 it was the maximum).
          await sleep(ALERT_PROBE_GAP_MS);
        }
      })();
      const probeUntil = Date.now() + (ctx.durationS - 5) * 1000;
      while (Date.now() < probeUntil && loader.proc.exitCode === null) await sleep(100);
      running = false;
      await Promise.all([dustLoop, alertLoop]);
      await sleep(1500); // the last batch holding a probe line
      await loader.exited;
      const loop = await loopStats(gw.httpUrl);
      const db = percentiles(proxy.latencies);
      const al = percentiles(alertLat);
      const ack = percentiles(ackLat);
      rows.push({
        scenario: `3 latency @ ${pct}% max (${rate}/s)`,
        system: 'publish -> point accepted by DB',
        p50Ms: db.p50,
        p99Ms: db.p99,
        maxMs: db.max,
        note: `${db.n} probes; a batch goes when the last request answered (at most 5000 lines, 1 s)`,
        detail: { rate, ...db },
      });
      rows.push({
        scenario: `3 latency @ ${pct}% max (${rate}/s)`,
        system: 'publish -> PUBACK (QoS 1)',
        p50Ms: ack.p50,
        p99Ms: ack.p99,
        maxMs: ack.max,
        note: `${ack.n} probes; acknowledged once in the intake log (tsdb.spool.fsync: always)`,
        detail: { rate, ...ack },
      });
      rows.push({
        scenario: `3 latency @ ${pct}% max (${rate}/s)`,
        system: 'publish -> alert job in BullMQ',
        p50Ms: al.p50,
        p99Ms: al.p99,
        maxMs: al.max,
        note:
          `${al.n} probes${alertMissed ? `, ${alertMissed} without a job in 2 s` : ''}; gateway thread's ` +
          `event-loop delay p99 ${loop.lagP99Ms.toFixed(1)} ms, max ${loop.lagMaxMs.toFixed(1)} ms; ` +
          `GC ${(loop.gcS - loop0.gcS).toFixed(2)} s in ${Math.round(loop.gcCount - loop0.gcCount)} pauses`,
        detail: { rate, ...al, missed: alertMissed, loop, gcS: loop.gcS - loop0.gcS },
      });
    }
  } finally {
    dustProbe?.end(true);
    accessProbe?.end(true);
    await worker.close();
    await new Queue(queueName, { connection }).obliterate({ force: true }).catch(() => undefined);
    connection.disconnect();
    await gw.stop();
    await proxy.close();
  }
  return rows;
}
