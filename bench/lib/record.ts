import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderMarkdown } from './table.js';
import type { Row } from './types.js';

const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

export interface RunInfo {
  machine: string;
  when: string;
  devices: number;
  durationS: number;
  offeredRate: number;
}

/** The generated table with the targets under it: the only place benchmark figures appear in docs. */
export function resultsBlock(rows: readonly Row[], targets: readonly string[], run: RunInfo): string {
  return [
    `Run on ${run.machine}, ${run.when}; ${run.devices} devices, ${run.durationS} s per run, offered ${run.offeredRate} msg/s (saturating).`,
    '',
    renderMarkdown(rows),
    '',
    ...targets.map((t) => `- ${t}`),
  ].join('\n');
}

/** Replaces what stands between the README's bench markers; refuses a README without them. */
export function spliceReadme(readme: string, block: string): string {
  const from = readme.indexOf(BEGIN);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md has no ${BEGIN} … ${END} block to rewrite`);
  return `${readme.slice(0, from + BEGIN.length)}\n${block}\n${readme.slice(to)}`;
}

/** Writes bench/RESULTS.md and the README's generated table. */
export async function recordResults(root: string, block: string): Promise<void> {
  await writeFile(
    join(root, 'bench', 'RESULTS.md'),
    `# Benchmark results\n\nWritten by \`make bench\`. How each number is measured: [README.md](README.md).\n\n${block}\n`,
  );
  const readmePath = join(root, 'README.md');
  await writeFile(readmePath, spliceReadme(await readFile(readmePath, 'utf8'), block));
}
