/** Reading back from VictoriaMetrics in tests: force a flush, then poll /api/v1/export with a deadline. */

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export async function forceFlush(vmUrl: string): Promise<void> {
  const res = await fetch(`${vmUrl}/internal/force_flush`);
  if (!res.ok) throw new Error(`force_flush: HTTP ${res.status}`);
}

export async function exportSeries(vmUrl: string, match: string): Promise<ExportedSeries[]> {
  const url = `${vmUrl}/api/v1/export?match[]=${encodeURIComponent(match)}`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`export ${match}: HTTP ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ExportedSeries);
}

/**
 * Poll until `predicate` holds for the exported series (a brand-new series can take ~10 s to
 * become searchable in VictoriaMetrics 1.79), or throw with what was last seen.
 */
export async function waitForSeries(
  vmUrl: string,
  match: string,
  predicate: (series: ExportedSeries[]) => boolean = (s) => s.length > 0,
  timeoutMs = 30_000,
): Promise<ExportedSeries[]> {
  const deadline = Date.now() + timeoutMs;
  let last: ExportedSeries[] = [];
  while (Date.now() < deadline) {
    await forceFlush(vmUrl);
    last = await exportSeries(vmUrl, match);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${match}; last saw ${JSON.stringify(last).slice(0, 2000)}`);
}
