import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MODELS } from '../../processors/devices/index.js';
import { devicesToCsv } from '../../processors/registry/csv.js';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import { buildFleet } from '../../simulators/fleet.js';
import { KAIFENG_DISTRICTS } from '../../simulators/places.js';
import { startGateway } from '../lib/gateway.js';
import { memoryMb } from '../lib/proc.js';
import { measureThroughput } from '../lib/throughput.js';
import type { BenchContext, Row } from '../lib/types.js';

/**
 * Scenario 4, scale of state: 100,000 devices imported through the Redis registry (the gateway's
 * `devices.import` of a CSV file, i.e. RedisRegistry.importRows), then the gateway restarted on
 * that registry with the shipped rules and with 1,000 generated rules. Reported: start-up time
 * (spawn -> /healthz), RSS after start and peak under load, and the CPU cost per message at a fixed
 * offered rate, whose difference between the two rule sets is the cost of the extra rules.
 */

const METRICS: Record<'flood' | 'dust' | 'air', string[]> = {
  flood: ['water_level_m', 'rain_mm', 'battery_v'],
  dust: ['pm10_ugm3', 'pm25_ugm3', 'tsp_ugm3', 'noise_dba', 'wind_speed_ms'],
  air: ['aqi', 'pm25_ugm3', 'pm10_ugm3', 'no2_ugm3', 'o3_ugm3'],
};

/** 1,000 threshold rules over (family, metric, district), half on 15-minute averages; none fires on load values. */
export function generateRules(count: number): string {
  const combos: { family: string; metric: string }[] = [];
  for (const [family, metrics] of Object.entries(METRICS))
    for (const metric of metrics) combos.push({ family, metric });
  const rules = Array.from({ length: count }, (_, i) => {
    const c = combos[i % combos.length] as { family: string; metric: string };
    const district = KAIFENG_DISTRICTS[Math.floor(i / combos.length) % KAIFENG_DISTRICTS.length]?.name;
    const threshold = 100_000 + i;
    const expr = i % 2 === 0 ? `${c.metric} > ${threshold}` : `avg(${c.metric}, 15m) > ${threshold}`;
    return {
      id: `bench.r${String(i).padStart(4, '0')}`,
      name: `bench rule ${i}`,
      selector: { family: c.family, location: { district } },
      condition: expr,
      severity: 'yellow',
    };
  });
  return stringify({ rules });
}

export async function scaleScenario(
  ctx: BenchContext,
  opts: { devices: number; rules: number; rate: number },
): Promise<Row[]> {
  const scenario = `4 scale: ${opts.devices.toLocaleString('en')} devices`;
  const fleet = buildFleet({ devices: opts.devices, models: MODELS });
  const rulesDir = join(ctx.dir, 'rules-1000');
  await mkdir(rulesDir, { recursive: true });
  await writeFile(join(rulesDir, 'bench.yaml'), generateRules(opts.rules));
  const base = {
    dir: ctx.dir,
    tsdbUrl: ctx.vmUrl,
    redisUrl: ctx.redisUrl,
    redisPrefix: 'bench:scale:',
    startTimeoutMs: 120_000,
  };
  const rows: Row[] = [];

  ctx.log(`${scenario}: import`);
  const imp = await startGateway({ ...base, name: 'scale-import' });
  const chunkRows = 10_000;
  let importMs = 0;
  let importError: string | undefined;
  try {
    importMs = await importInChunks(
      imp.httpUrl,
      fleet.map((f) => f.device as unknown as DeviceRecord),
      chunkRows,
    );
  } catch (err) {
    importError = (err as Error).message.slice(0, 200);
  }
  const impMem = memoryMb(imp.child.pid);
  await imp.stop();
  rows.push({
    scenario,
    system: `import via HTTP API, ${chunkRows / 1000}k-row CSV chunks`,
    msgsPerS: importError ? undefined : opts.devices / (importMs / 1000),
    peakRssMb: impMem?.peak,
    note: importError
      ? `import failed: ${importError}`
      : `${(importMs / 1000).toFixed(1)} s for ${opts.devices.toLocaleString('en')} devices (msg/s = devices/s)`,
    detail: { importMs, chunkRows, rssAfterImportMb: impMem?.rss, importError },
  });

  let shippedUsPerMsg = 0;
  for (const variant of ['shipped rules', `${opts.rules} rules`] as const) {
    ctx.log(`${scenario}: ${variant}`);
    const gw = await startGateway({
      ...base,
      name: `scale-${variant.replace(/\s/g, '')}`,
      rulesDir: variant === 'shipped rules' ? undefined : rulesDir,
    });
    const after = memoryMb(gw.child.pid);
    const heapMb = await heapUsedMb(gw.httpUrl);
    try {
      const r = await measureThroughput(
        { pid: gw.child.pid, counters: gw.counters, stderr: gw.child.stderr },
        { url: gw.mqttUrl, devices: opts.devices, rate: opts.rate, durationS: ctx.durationS, qos: 0 },
        { victoriametrics: ctx.vmPid },
      );
      const usPerMsg = r.msgsPerS > 0 ? (r.cpuPct * 1e4) / r.msgsPerS : Number.NaN;
      if (variant === 'shipped rules') shippedUsPerMsg = usPerMsg;
      const extra =
        variant === 'shipped rules'
          ? ''
          : `; +${(usPerMsg - shippedUsPerMsg).toFixed(1)} µs/msg for ${opts.rules} rules`;
      rows.push({
        scenario,
        system: `registry in Redis, ${variant}`,
        msgsPerS: r.msgsPerS,
        cpuPct: r.cpuPct,
        peakRssMb: r.peakRssMb,
        note: `start ${(gw.startMs / 1000).toFixed(1)} s, RSS ${after?.rss.toFixed(0)} MB (JS heap ${heapMb.toFixed(0)} MB) after start; ${usPerMsg.toFixed(1)} µs CPU/msg at ${opts.rate}/s offered${extra}`,
        detail: {
          ...r,
          startMs: gw.startMs,
          rssAfterStartMb: after?.rss,
          heapAfterStartMb: heapMb,
          usPerMsg,
        },
      });
    } finally {
      await gw.stop();
    }
  }
  return rows;
}

/**
 * Through the registry's HTTP import (RedisRegistry.importRows), in chunks, the way an operator
 * with a large inventory would.
 */
async function importInChunks(httpUrl: string, devices: DeviceRecord[], chunk: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < devices.length; i += chunk) {
    const r = await fetch(`${httpUrl}/api/v1/devices/import?source=bench-${i}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: devicesToCsv(devices.slice(i, i + chunk)),
    });
    if (!r.ok) throw new Error(`import of rows ${i}..${i + chunk} failed: ${r.status} ${await r.text()}`);
    await r.arrayBuffer().catch(() => undefined);
  }
  return performance.now() - t0;
}

/** JS heap in use, from the gateway's own Prometheus metrics (prom-client default metrics). */
async function heapUsedMb(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = /^gridgate_process_nodejs_heap_size_used_bytes ([0-9.e+]+)$/m.exec(text);
  return m ? Number(m[1]) / 2 ** 20 : Number.NaN;
}
