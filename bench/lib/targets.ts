import type { Row } from './types.js';

/** The targets, checked against this run's rows: one line each, met / not met / not measured. */
export function checkTargets(rows: readonly Row[]): string[] {
  const find = (scenario: string, system: string) =>
    rows.find((r) => r.scenario.startsWith(scenario) && r.system.startsWith(system));
  const out: string[] = [];
  const pct = (r?: number) => (r === undefined ? '—' : `${(r * 100).toFixed(0)}%`);
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'MET' : 'NOT MET');

  const s1 = rows.find(
    (r) => r.scenario.startsWith('1 ') && r.scenario.endsWith('QoS 0') && r.system.startsWith('gridgate'),
  );
  out.push(
    `scenario 1 QoS 0 >= 70% of baseline: ${pct(s1?.ratio)} -> ${mark(s1?.ratio === undefined ? undefined : s1.ratio >= 0.7)}`,
  );
  const s2 = find('2 ', 'gridgate');
  out.push(
    `scenario 2 >= 85% of baseline: ${pct(s2?.ratio)} -> ${mark(s2?.ratio === undefined ? undefined : s2.ratio >= 0.85)}`,
  );
  const s3 = rows.find((r) => r.scenario.startsWith('3 latency @ 50%') && r.system.includes('alert job'));
  out.push(
    `p99 publish -> alert job < 50 ms at 50% of max: ${s3?.p99Ms ?? '—'} ms -> ${mark(s3?.p99Ms === undefined ? undefined : s3.p99Ms < 50)}`,
  );
  const s4 = rows.find((r) => r.scenario.startsWith('4 ') && /\d+ rules$/.test(r.system));
  const d = s4?.detail as { rssAfterStartMb?: number; startMs?: number } | undefined;
  const rssOk = d?.rssAfterStartMb === undefined ? undefined : d.rssAfterStartMb < 300;
  const startOk = d?.startMs === undefined ? undefined : d.startMs < 5000;
  out.push(
    `100k devices + 1,000 rules: RSS after start ${d?.rssAfterStartMb?.toFixed(0) ?? '—'} MB (peak under load ${s4?.peakRssMb?.toFixed(0) ?? '—'} MB) < 300 MB -> ${mark(rssOk)}; start ${d?.startMs === undefined ? '—' : (d.startMs / 1000).toFixed(1)} s < 5 s -> ${mark(startOk)}`,
  );
  return out;
}
