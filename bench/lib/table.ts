import Table from 'cli-table3';
import type { Row } from './types.js';

const n = (v: number | undefined, digits = 0) =>
  v === undefined || !Number.isFinite(v)
    ? '—'
    : v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The one table `make bench` prints. */
export function renderTable(rows: readonly Row[]): string {
  const t = new Table({
    head: [
      'scenario',
      'system',
      'msg/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'CPU %',
      'peak RSS MB',
      'vs baseline',
      'note',
    ],
    wordWrap: true,
    style: { head: [], border: [] },
    colWidths: [30, 26, 10, 9, 9, 9, 7, 8, 9, 36],
  });
  for (const r of rows) {
    t.push([
      r.scenario,
      r.system,
      n(r.msgsPerS),
      n(r.p50Ms, 1),
      n(r.p99Ms, 1),
      n(r.maxMs, 1),
      n(r.cpuPct),
      n(r.peakRssMb),
      r.ratio === undefined ? '—' : `${(r.ratio * 100).toFixed(0)}%`,
      r.note ?? '',
    ]);
  }
  return t.toString();
}

/** The same rows as a Markdown table, for bench/RESULTS.md and the README. */
export function renderMarkdown(rows: readonly Row[]): string {
  const head =
    '| scenario | system | msg/s | p50 ms | p99 ms | max ms | CPU % | peak RSS MB | vs baseline | note |';
  const sep = '|---|---|--:|--:|--:|--:|--:|--:|--:|---|';
  const body = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.system} | ${n(r.msgsPerS)} | ${n(r.p50Ms, 1)} | ${n(r.p99Ms, 1)} | ${n(r.maxMs, 1)} | ${n(r.cpuPct)} | ${n(r.peakRssMb)} | ${r.ratio === undefined ? '—' : `${(r.ratio * 100).toFixed(0)}%`} | ${(r.note ?? '').replaceAll('|', '\\|')} |`,
  );
  return [head, sep, ...body].join('\n');
}
