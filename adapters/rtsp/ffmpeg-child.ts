import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

/**
 * One ffmpeg child with the habits every camera process needs: it dies with the gateway, stderr is
 * split into scrubbed lines (the last few kept for error messages), and kill() resolves only once
 * the process has exited and been reaped, escalating to SIGKILL when SIGTERM is not enough.
 * Every ffmpeg gridgate starts for a camera (analysis, snapshot, live source) is spawned here;
 * only the live view's encoder is node-rtsp-stream's own (live-muxer.ts).
 */
export interface FfmpegChild {
  readonly pid: number | undefined;
  readonly proc: ChildProcess;
  /** The last stderr line, scrubbed; '' when there was none. */
  lastError(): string;
  /** The last few stderr lines, scrubbed, oldest first; a failed spawn's message counts as one. */
  lastLines(): string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(graceMs?: number): Promise<void>;
}

export interface SpawnFfmpegOptions {
  /** Applied to every stderr line before it is kept. */
  scrub: (s: string) => string;
  /** A fourth pipe, fd 3 (the analysis writes -progress there). */
  extraFd?: boolean;
  /** Written to stdin, which is then closed (an RTSP input's script, a frame to encode); else no stdin. */
  stdin?: string | readonly Buffer[];
}

const KEEP_LINE = 300;
const KEEP_LINES = 3;

// util-linux setpriv (required by scripts/ensure-deps.sh): the kernel kills the child when gridgate
// dies, even by SIGKILL (prctl PR_SET_PDEATHSIG survives execve, and setpriv execs ffmpeg, so the
// pid is ffmpeg's). Without it a child would notice only at its next write to a closed pipe.
// The signal follows the thread that spawned the child: the main thread, or a worker thread
// whose end should end its cameras' processes too.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export function spawnFfmpeg(bin: string, args: readonly string[], opts: SpawnFfmpegOptions): FfmpegChild {
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', bin, ...args]] : [bin, [...args]];
  const proc = spawn(cmd, argv, {
    stdio: [
      opts.stdin === undefined ? 'ignore' : 'pipe',
      'pipe',
      'pipe',
      ...(opts.extraFd ? (['pipe'] as const) : []),
    ],
  });
  const kept: string[] = [];
  let partial = '';
  const note = (text: string) => {
    const line = opts.scrub(text.trim()).slice(0, KEEP_LINE);
    if (!line) return;
    kept.push(line);
    if (kept.length > KEEP_LINES) kept.shift();
  };
  const stderr = proc.stderr as Readable;
  stderr.setEncoding('utf8');
  stderr.on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = (lines.pop() ?? '').slice(-KEEP_LINE);
    for (const l of lines) note(l);
  });
  // A spawn failure (binary missing) arrives as 'error' and then 'exit' never comes.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      note(partial);
      resolve({ code, signal });
    };
    proc.once('exit', finish);
    proc.once('error', (err) => {
      note(err.message);
      if (proc.pid === undefined) finish(null, null);
    });
  });
  // EPIPE on stdin (ffmpeg gone before reading it) and the like are seen as the process's exit.
  for (const s of [proc.stdin, proc.stdout, proc.stdio[3]]) (s as Readable | null)?.on('error', () => {});
  if (opts.stdin !== undefined) {
    const stdin = proc.stdin as Writable;
    for (const chunk of typeof opts.stdin === 'string' ? [opts.stdin] : opts.stdin) stdin.write(chunk);
    stdin.end();
  }
  return {
    pid: proc.pid,
    proc,
    lastError: () => kept.at(-1) ?? '',
    lastLines: () => [...kept],
    exited,
    async kill(graceMs = 1000) {
      await terminate(proc, graceMs);
      await exited;
    },
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited (or never started). */
export function terminate(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
