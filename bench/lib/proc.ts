import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Child processes for the benchmark: spawn the built CLI or a bench worker from dist/, and read
 * their CPU time and memory from /proc (Linux), so the measuring process never runs inside the
 * process it measures.
 */

/** Repo root: dist/bench/lib -> three levels up. */
export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const DIST = join(ROOT, 'dist');
export const CLI = join(DIST, 'gateway', 'cli', 'main.js');

/** Clock ticks per second for /proc/<pid>/stat utime/stime (sysconf(_SC_CLK_TCK), 100 on Linux). */
const CLK_TCK = 100;

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Last 8 kB of stderr and all of stdout (stdout is small: a worker prints one JSON line). */
  stderr(): string;
  stdout(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function spawnNode(
  args: string[],
  opts: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Child {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
  });
  proc.stdout?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  if (proc.pid === undefined) throw new Error(`cannot spawn node ${args.join(' ')}`);
  return {
    proc,
    pid: proc.pid,
    stderr: () => err,
    stdout: () => out,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      proc.kill(signal);
      await exited;
      clearTimeout(t);
    },
  };
}

/** CPU seconds (user + system) a process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may hold spaces): state is field 3.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK; // utime (14), stime (15)
  } catch {
    return undefined;
  }
}

/** CPU seconds per thread of a process (by thread id, with its name), from /proc/<pid>/task; empty once it is gone. */
export function threadCpuSeconds(pid: number): Map<number, { name: string; cpu: number }> {
  const out = new Map<number, { name: string; cpu: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name, cpu: (Number(rest[11]) + Number(rest[12])) / CLK_TCK });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Resident set now and its peak (VmRSS, VmHWM), MB. */
export function memoryMb(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU % of one core used by `pid` between two calls. */
export class CpuMeter {
  readonly #pid: number;
  #cpu0: number;
  #t0: number;
  constructor(pid: number) {
    this.#pid = pid;
    this.#cpu0 = cpuSeconds(pid) ?? 0;
    this.#t0 = performance.now();
  }
  /** Percent of one core since construction or the last reset. */
  percent(): number {
    const cpu = cpuSeconds(this.#pid) ?? this.#cpu0;
    const dt = (performance.now() - this.#t0) / 1000;
    return dt > 0 ? ((cpu - this.#cpu0) / dt) * 100 : 0;
  }
  reset(): void {
    this.#cpu0 = cpuSeconds(this.#pid) ?? this.#cpu0;
    this.#t0 = performance.now();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `url` until it answers 2xx, or throw after timeoutMs (with the child's stderr when given). */
export async function waitHttp(url: string, timeoutMs: number, child?: Child): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (child && child.proc.exitCode !== null)
      throw new Error(`process exited (${child.proc.exitCode}) before ${url} answered:\n${child.stderr()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms\n${child?.stderr() ?? ''}`);
}

/** The last line of a worker's stdout that parses as JSON. */
export function lastJson<T>(child: Child): T {
  const lines = child.stdout().trim().split('\n').reverse();
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    try {
      return JSON.parse(l) as T;
    } catch {
      // not this one
    }
  }
  throw new Error(`no JSON result on stdout:\n${child.stdout().slice(-2000)}\n${child.stderr()}`);
}
