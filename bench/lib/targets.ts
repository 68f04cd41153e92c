import type { Row } from './types.js';

/** The issue's targets, checked against this run's rows: one line each, met / not met / not measured. */
export function checkTargets(rows: readonly Row[]): string[] {
  const out: string[] = [];
  const pct = (r?: number) => (r === undefined ? '—' : `${(r * 100).toFixed(0)}%`);
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'MET' : 'NOT MET');

  const s1 = rows.find(
    (r) => r.scenario.startsWith('1 ') && r.scenario.endsWith('QoS 0') && r.system.startsWith('gridgate'),
  );
  out.push(
    `scenario 1 QoS 0 >= 85% of baseline: ${pct(s1?.ratio)} -> ${mark(s1?.ratio === undefined ? undefined : s1.ratio >= 0.85)}`,
  );
  const s2Row = (burst: boolean) =>
    rows.find(
      (r) =>
        r.scenario.startsWith('2 ') &&
        r.scenario.includes('burst') === burst &&
        r.system.startsWith('gridgate'),
    );
  const s2 = s2Row(false);
  out.push(
    `scenario 2 sustained >= 90% of its database-writing baseline: ${pct(s2?.ratio)} -> ${mark(s2?.ratio === undefined ? undefined : s2.ratio >= 0.9)}`,
  );
  const s2b = s2Row(true);
  out.push(
    `scenario 2 burst >= 85% of its database-writing baseline: ${pct(s2b?.ratio)} -> ${mark(s2b?.ratio === undefined ? undefined : s2b.ratio >= 0.85)}`,
  );
  const s3 = rows.find((r) => r.scenario.startsWith('3 latency @ 50%') && r.system.includes('alert job'));
  out.push(
    `p99 publish -> alert job < 25 ms at 50% of max: ${s3?.p99Ms ?? '—'} ms -> ${mark(s3?.p99Ms === undefined ? undefined : s3.p99Ms < 25)}`,
  );
  const s4 = rows.find((r) => r.scenario.startsWith('4 ') && /\d+ rules$/.test(r.system));
  const d = s4?.detail as { rssAfterStartMb?: number; startMs?: number } | undefined;
  const rssOk = d?.rssAfterStartMb === undefined ? undefined : d.rssAfterStartMb < 300;
  const startOk = d?.startMs === undefined ? undefined : d.startMs < 5000;
  out.push(
    `100k devices + 1,000 rules: RSS after start ${d?.rssAfterStartMb?.toFixed(0) ?? '—'} MB (peak under load ${s4?.peakRssMb?.toFixed(0) ?? '—'} MB) < 300 MB -> ${mark(rssOk)}; start ${d?.startMs === undefined ? '—' : (d.startMs / 1000).toFixed(1)} s < 5 s -> ${mark(startOk)}`,
  );
  const cams = rows.find((r) => r.scenario === '6 cameras: 100 supervised');
  out.push(
    `100 cameras supervised within one core: ${cams?.cpuPct ?? '—'}% -> ${mark(cams?.cpuPct === undefined ? undefined : cams.cpuPct <= 100)}`,
  );
  const delays = rows.filter((r) => r.scenario.startsWith('6 cameras: detection delay'));
  const slowest = delays.some((r) => r.p50Ms === undefined)
    ? undefined
    : Math.max(...delays.map((r) => r.p50Ms as number));
  out.push(
    `every camera fault detected within 10 s: slowest ${slowest === undefined ? (delays.length ? 'not detected' : '—') : `${(slowest / 1000).toFixed(1)} s`} -> ${mark(delays.length === 0 ? undefined : slowest !== undefined && slowest <= 10_000)}`,
  );
  // Every restart of the run counts: a target met only on some restarts is not met.
  const storms = rows
    .filter((r) => r.scenario.startsWith('7 ') && r.system.startsWith('reconnect storm'))
    .map((r) => r.detail as { devices?: number; admitMs?: number; allAdmitted?: boolean } | undefined);
  const fleetN = storms[0]?.devices;
  const times = storms.map((d) => (d?.allAdmitted === true ? d.admitMs : undefined));
  const worst = times.some((t) => t === undefined) ? undefined : Math.max(...(times as number[]));
  const fleetOk =
    storms.length === 0 || fleetN === undefined || fleetN < 10_000
      ? undefined
      : worst !== undefined && worst < 30_000;
  const secs = times.map((t) => (t === undefined ? 'incomplete' : `${(t / 1000).toFixed(1)} s`)).join(', ');
  out.push(
    `10,000 devices re-admitted after a gateway restart in < 30 s (every restart): ${fleetN?.toLocaleString('en') ?? '—'} devices, ${storms.length > 0 ? secs : '—'} -> ${fleetN !== undefined && fleetN < 10_000 ? 'not measured at 10,000' : mark(fleetOk)}`,
  );
  const soak = rows.find((r) => r.scenario.startsWith('8 soak'))?.detail as
    | { rssSecond: number; rssLast: number; fds0: number; end: { fds: number }; drained: boolean }
    | undefined;
  const growth = soak ? (soak.rssLast - soak.rssSecond) / soak.rssSecond : undefined;
  out.push(
    `soak with the database flapping: RSS last minute vs minute 2 ${growth === undefined ? '—' : `${(growth * 100).toFixed(1)}%`} (<= 10%), open fds ${soak ? `${soak.fds0} -> ${soak.end.fds}` : '—'}, spool drained ${soak?.drained ?? '—'} -> ${mark(soak === undefined ? undefined : growth! <= 0.1 && soak.end.fds <= soak.fds0 + 5 && soak.drained)}`,
  );
  return out;
}
