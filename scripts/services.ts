/**
 * Starts the real services gridgate talks to (Redis, VictoriaMetrics, mosquitto) on free loopback
 * ports, with data in a private folder, and stops them again. Used by the test suite's global
 * setup, `make demo` and `make bench`; never binds a well-known port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(
  port: number,
  proc: ChildProcess,
  name: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null)
      throw new Error(`${name} exited with code ${proc.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export interface RunningService {
  name: string;
  port: number;
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function launch(
  name: string,
  cmd: string,
  args: string[],
  port: number,
  url: string,
): Promise<RunningService> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const spawned = new Promise<void>((resolve, reject) => {
    proc.once('spawn', resolve);
    proc.once('error', (err) =>
      reject(
        new Error(
          `cannot start ${name} (${cmd}): ${err.message}. Install it: apt-get install ${debPackage(name)}`,
        ),
      ),
    );
  });
  await spawned;
  try {
    await waitForPort(port, proc, name);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    name,
    port,
    url,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

function debPackage(name: string): string {
  return (
    (
      { redis: 'redis-server', victoriametrics: 'victoria-metrics', mosquitto: 'mosquitto' } as Record<
        string,
        string
      >
    )[name] ?? name
  );
}

/**
 * `fsyncAlways`: every write is on the disk before Redis answers it. Tests that SIGKILL Redis need
 * it: with the default (`everysec`) Redis may hold back its AOF write while a slow fsync runs, so
 * an answered write can die with the process.
 */
export async function startRedis(
  dataDir: string,
  port?: number,
  opts: { fsyncAlways?: boolean } = {},
): Promise<RunningService> {
  const p = port ?? (await freePort());
  await mkdir(dataDir, { recursive: true });
  // AOF on: the device registry and incident state are durable (issue 4).
  const args = [
    ...(opts.fsyncAlways ? ['--appendfsync', 'always'] : []),
    '--port',
    String(p),
    '--bind',
    '127.0.0.1',
    '--dir',
    dataDir,
    '--appendonly',
    'yes',
    '--save',
    '',
    '--protected-mode',
    'yes',
  ];
  return launch('redis', 'redis-server', args, p, `redis://127.0.0.1:${p}`);
}

export async function startVictoriaMetrics(dataDir: string, port?: number): Promise<RunningService> {
  const p = port ?? (await freePort());
  await mkdir(dataDir, { recursive: true });
  const args = [
    `-httpListenAddr=127.0.0.1:${p}`,
    `-storageDataPath=${dataDir}`,
    '-search.latencyOffset=0s',
    '-retentionPeriod=1y',
    '-loggerLevel=ERROR',
  ];
  return launch('victoriametrics', 'victoria-metrics', args, p, `http://127.0.0.1:${p}`);
}

/** mosquitto 2.0 with max_queued_messages raised: its default of 1000 drops QoS 1 messages under load. */
export async function startMosquitto(dir: string, port?: number, extraConf = ''): Promise<RunningService> {
  const p = port ?? (await freePort());
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${p} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_queued_messages 1000000',
      'max_inflight_messages 0',
      'log_dest stderr',
      'log_type error',
      extraConf,
    ].join('\n'),
  );
  const bin = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
  return launch('mosquitto', bin, ['-c', conf], p, `mqtt://127.0.0.1:${p}`);
}

export interface ServiceSet {
  dir: string;
  redis?: RunningService;
  vm?: RunningService;
  mosquitto?: RunningService;
  stop(): Promise<void>;
}

/** Start the named services under `dir` (a fresh temp folder when omitted). */
export async function startServices(
  which: { redis?: boolean; vm?: boolean; mosquitto?: boolean },
  dir?: string,
): Promise<ServiceSet> {
  const base = dir ?? (await mkdtemp(join(tmpdir(), 'gridgate-svc-')));
  const started: RunningService[] = [];
  const set: ServiceSet = {
    dir: base,
    async stop() {
      await Promise.all(started.map((s) => s.stop()));
      if (!dir) await rm(base, { recursive: true, force: true });
    },
  };
  try {
    const [redis, vm, mosquitto] = await Promise.all([
      which.redis ? startRedis(join(base, 'redis')) : undefined,
      which.vm ? startVictoriaMetrics(join(base, 'vm')) : undefined,
      which.mosquitto ? startMosquitto(join(base, 'mosquitto')) : undefined,
    ]);
    for (const s of [redis, vm, mosquitto]) if (s) started.push(s);
    set.redis = redis;
    set.vm = vm;
    set.mosquitto = mosquitto;
  } catch (err) {
    await set.stop();
    throw err;
  }
  return set;
}
