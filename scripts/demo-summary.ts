/**
 * The demo's live summary: every few seconds, what flows through the gateway — devices seen,
 * messages and readings per second, rejects, database writes, the newest values per family, and
 * open incidents. Reads only the gateway's HTTP API.
 */

interface Stats {
  pipeline: { received: number; readings: number; rejected: Record<string, number> };
  tsdb: { linesWritten: number; batchesFailed: number };
  devices: { registered: number; seen: number };
  families: Record<
    string,
    { devices: number; online: number; metrics: Record<string, { avg: number; max: number }> }
  >;
  accessEvents: Record<string, number>;
}

interface Incident {
  id?: string;
  incidentId?: string;
  rule?: { id: string } | string;
  ruleId?: string;
  severity?: string;
  summary?: { zh: string; en: string };
  state?: string;
}

const SHOWN: Record<string, string[]> = {
  flood: ['water_level_m', 'rain_mm', 'battery_v'],
  dust: ['pm10_ugm3', 'pm25_ugm3', 'noise_dba'],
  air: ['aqi', 'pm25_ugm3', 'o3_ugm3'],
  camera: ['fps', 'bitrate_kbps', 'motion_pct'],
};

export async function summaryLoop(opts: {
  api: string;
  vm: string;
  redis: string;
  stopped: () => boolean;
  everyMs?: number;
}) {
  let prev: Stats | undefined;
  let prevAt = Date.now();
  while (!opts.stopped()) {
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 5000));
    if (opts.stopped()) return;
    let stats: Stats;
    try {
      stats = (await (await fetch(`${opts.api}/api/v1/stats`)).json()) as Stats;
    } catch (err) {
      console.log(`(gateway not answering: ${(err as Error).message})`);
      continue;
    }
    const now = Date.now();
    const secs = (now - prevAt) / 1000;
    const rate = (a: number, b: number | undefined) => (b === undefined ? '…' : ((a - b) / secs).toFixed(0));
    const rejects = Object.entries(stats.pipeline.rejected)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${r}=${n}`)
      .join(' ');
    const lines = [
      `── ${new Date().toLocaleTimeString()} ─ devices ${stats.devices.seen}/${stats.devices.registered} seen · ` +
        `${rate(stats.pipeline.received, prev?.pipeline.received)} msg/s · ${rate(stats.pipeline.readings, prev?.pipeline.readings)} readings/s · ` +
        `written ${stats.tsdb.linesWritten} lines${stats.tsdb.batchesFailed ? ` (${stats.tsdb.batchesFailed} failed writes)` : ''}`,
    ];
    for (const [family, f] of Object.entries(stats.families)) {
      const vals =
        family === 'access'
          ? `events since start: ${Object.entries(stats.accessEvents)
              .map(([e, n]) => `${e}=${n}`)
              .join(' ')}`
          : (SHOWN[family] ?? [])
              .filter((k) => f.metrics[k] !== undefined)
              .map((k) => `${k} avg ${round(f.metrics[k]!.avg)} max ${round(f.metrics[k]!.max)}`)
              .join('  ');
      lines.push(
        `   ${family.padEnd(7)} ${String(f.devices).padStart(4)} devices, ${String(f.online).padStart(4)} online   ${vals}`,
      );
    }
    if (rejects) lines.push(`   rejects: ${rejects}`);
    const incidents = await fetchIncidents(opts.api);
    if (incidents) {
      lines.push(`   open incidents: ${incidents.length}`);
      for (const i of incidents.slice(0, 5))
        lines.push(`     [${i.severity ?? '?'}] ${i.summary?.zh ?? i.incidentId ?? i.id}`);
    }
    console.log(lines.join('\n'));
    prev = stats;
    prevAt = now;
  }
}

async function fetchIncidents(api: string): Promise<Incident[] | undefined> {
  try {
    const res = await fetch(`${api}/api/v1/incidents?state=open`);
    if (!res.ok) return undefined;
    const body = (await res.json()) as { items?: Incident[] } | Incident[];
    return Array.isArray(body) ? body : (body.items ?? []);
  } catch {
    return undefined;
  }
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}
