/**
 * Summarize a V8 .cpuprofile (node --cpu-prof): top functions by self time, and self time by
 * file / package, so a profile can be read in a terminal and quoted in a report.
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT } from './lib/proc.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  functions: { name: string; where: string; selfMs: number; pct: number }[];
  files: { file: string; selfMs: number; pct: number }[];
}

function where(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const rel = path.startsWith('/') ? relative(ROOT, path) : path;
  const nm = rel.lastIndexOf('node_modules/');
  return nm >= 0 ? rel.slice(nm + 'node_modules/'.length) : rel;
}

export function summarize(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  const fn = new Map<string, { name: string; where: string; selfMs: number }>();
  const files = new Map<string, number>();
  for (const [id, ms] of self) {
    const cf = byId.get(id)?.callFrame;
    if (!cf) continue;
    const w = where(cf.url);
    const key = `${cf.functionName}@${w}:${cf.lineNumber}`;
    const e = fn.get(key) ?? {
      name: cf.functionName || '(anonymous)',
      where: cf.url ? `${w}:${cf.lineNumber + 1}` : w,
      selfMs: 0,
    };
    e.selfMs += ms;
    fn.set(key, e);
    const file = cf.url ? w.replace(/\/[^/]*$/, (m) => (w.includes('/') ? m : '')) : cf.functionName;
    files.set(file, (files.get(file) ?? 0) + ms);
  }
  const pct = (ms: number) => (total > 0 ? (ms / total) * 100 : 0);
  return {
    totalMs: total,
    functions: [...fn.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .map((f) => ({ ...f, pct: pct(f.selfMs) })),
    files: [...files.entries()]
      .map(([file, selfMs]) => ({ file, selfMs, pct: pct(selfMs) }))
      .sort((a, b) => b.selfMs - a.selfMs),
  };
}

export function formatSummary(s: ProfileSummary, top = 30): string {
  const out = [`total sampled ${(s.totalMs / 1000).toFixed(1)} s`, '', 'top functions by self time:'];
  for (const f of s.functions.slice(0, top))
    out.push(
      `${f.pct.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`,
    );
  out.push('', 'self time by file:');
  for (const f of s.files.slice(0, top)) out.push(`${f.pct.toFixed(1).padStart(5)}%  ${f.file}`);
  return out.join('\n');
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  const top = i > 0 ? Number(process.argv[i + 1]) : 30;
  console.log(formatSummary(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile), top));
}
