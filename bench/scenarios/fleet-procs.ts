import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FleetStats } from '../../simulators/fleet-connections.js';
import { type Child, CLI, DIST, ROOT, sleep, spawnNode, waitHttp } from '../lib/proc.js';

/**
 * The processes of the fleet scenario (scenario 7): the gateway with MQTT authentication on, and
 * the load processes (bench/fleet-worker.ts) that hold one connection per device.
 */

export interface FleetGatewayConfig {
  dir: string;
  httpPort: number;
  mqttPort: number;
  tsdbUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** limits.maxConnectionsPerIp */
  maxConnectionsPerIp: number;
}

export interface FleetGateway {
  child: Child;
  httpUrl: string;
  /** Spawn time, epoch ms. */
  spawnedAt: number;
  /** Spawn -> /healthz answering, ms. */
  startMs: number;
}

/**
 * Unlike bench/lib/gateway.ts (auth off, one shared connection per load process), devices here log
 * in with their own secrets: `mqtt.auth.required` true. The HTTP API has no token (loopback, the
 * bench is its only client). The device registry is in Redis under `redisPrefix`, so a restarted
 * gateway loads the same fleet and secrets. Same ports on every start: the devices reconnect to the
 * address they know.
 */
export async function startFleetGateway(cfg: FleetGatewayConfig, name: string): Promise<FleetGateway> {
  const config = {
    log: { level: 'warn', pretty: false },
    http: { host: '127.0.0.1', port: cfg.httpPort },
    auth: { required: false },
    mqtt: {
      auth: { required: true },
      embedded: { host: '127.0.0.1', port: cfg.mqttPort },
      alertTopic: '',
    },
    hj212: { enabled: false },
    tsdb: { url: cfg.tsdbUrl, gzip: false },
    redis: { url: cfg.redisUrl, prefix: cfg.redisPrefix },
    rules: { watch: false },
    limits: { maxConnectionsPerIp: cfg.maxConnectionsPerIp },
  };
  const file = join(cfg.dir, `gateway-fleet-${name}.yaml`);
  await writeFile(file, stringify(config));
  const spawnedAt = Date.now();
  const child = spawnNode([CLI, 'start', '--config', file]);
  const httpUrl = `http://127.0.0.1:${cfg.httpPort}`;
  try {
    const startMs = await waitHttp(`${httpUrl}/healthz`, 120_000, child);
    return { child, httpUrl, spawnedAt, startMs };
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
}

/** Labelled counter values (`name{label="x"} n`) from the gateway's /metrics, non-zero only. */
export async function labelledCounter(httpUrl: string, name: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{[a-z_]+="([^"]+)"\\} ([0-9.e+]+)$`, 'gm'))) {
    const v = Number(m[2]);
    if (v > 0) out[m[1] as string] = v;
  }
  return out;
}

export interface WorkerPoolOptions {
  host: string;
  port: number;
  secretsFile: string;
  devices: number;
  workers: number;
  /** Source addresses, spread over the devices of every worker. */
  sources: readonly string[];
  intervalMs: number;
  keepaliveS: number;
  reconnectMs: number;
  jitter: number;
  seed: number;
}

interface Worker {
  proc: ChildProcess;
  stats?: FleetStats;
  stderr: string;
}

/** The load processes, each holding a contiguous share of the fleet's connections. */
export class WorkerPool {
  readonly #workers: Worker[] = [];

  static async start(o: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool();
    const share = Math.ceil(o.devices / o.workers);
    const started: Promise<void>[] = [];
    for (let w = 0; w < o.workers; w++) {
      const from = w * share;
      const to = Math.min(o.devices, from + share);
      if (from >= to) break;
      const proc = fork(
        join(DIST, 'bench', 'fleet-worker.js'),
        [
          ...['--host', o.host, '--port', String(o.port), '--secrets', o.secretsFile],
          ...['--devices', String(o.devices), '--from', String(from), '--to', String(to)],
          ...['--sources', o.sources.join(','), '--interval-ms', String(o.intervalMs)],
          ...['--keepalive', String(o.keepaliveS), '--reconnect-ms', String(o.reconnectMs)],
          ...['--jitter', String(o.jitter), '--seed', String(o.seed)],
        ],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
      );
      const worker: Worker = { proc, stderr: '' };
      proc.stderr?.on('data', (d: Buffer) => {
        worker.stderr = (worker.stderr + d.toString()).slice(-4000);
      });
      started.push(
        new Promise((resolve, reject) => {
          proc.on('message', (m: { started?: boolean; stats?: FleetStats }) => {
            if (m.stats) worker.stats = m.stats;
            if (m.started) resolve();
          });
          proc.once('exit', (code) => reject(new Error(`fleet worker exited (${code}): ${worker.stderr}`)));
        }),
      );
      pool.#workers.push(worker);
    }
    try {
      await Promise.all(started);
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  get pids(): number[] {
    return this.#workers.flatMap((w) => (w.proc.pid === undefined ? [] : [w.proc.pid]));
  }

  send(cmd: { cmd: 'publishing'; on: boolean } | { cmd: 'mark' }): void {
    for (const w of this.#workers) if (w.proc.connected) w.proc.send(cmd);
  }

  /** Fresh stats from every worker (bounded wait). */
  async stats(): Promise<FleetStats[]> {
    const before = this.#workers.map((w) => w.stats);
    for (const w of this.#workers) if (w.proc.connected) w.proc.send({ cmd: 'stats' });
    const deadline = Date.now() + 5000;
    while (this.#workers.some((w, i) => w.stats === before[i]) && Date.now() < deadline) await sleep(10);
    for (const w of this.#workers) {
      if (w.proc.exitCode !== null) throw new Error(`fleet worker exited (${w.proc.exitCode}): ${w.stderr}`);
    }
    return this.#workers.flatMap((w) => (w.stats ? [w.stats] : []));
  }

  /** Polls until every worker reports all its devices admitted since its mark, or the deadline. */
  async waitAdmitted(timeoutMs: number, alive: () => void): Promise<{ all: boolean; stats: FleetStats[] }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      alive();
      const stats = await this.stats();
      const all = stats.length === this.#workers.length && stats.every((s) => s.allAdmittedAt !== undefined);
      if (all || Date.now() > deadline) return { all, stats };
      await sleep(200);
    }
  }

  /** Asks every worker to DISCONNECT its devices and exit; kills what has not exited in 15 s. */
  async stop(): Promise<FleetStats[]> {
    const finals = await Promise.all(
      this.#workers.map(async (w) => {
        if (w.proc.exitCode !== null || w.proc.signalCode !== null) return w.stats;
        const exited = new Promise<void>((r) => w.proc.once('exit', () => r()));
        const kill = setTimeout(() => w.proc.kill('SIGKILL'), 15_000);
        if (w.proc.connected) w.proc.send({ cmd: 'stop' });
        else w.proc.kill('SIGTERM');
        await exited;
        clearTimeout(kill);
        return w.stats;
      }),
    );
    return finals.flatMap((s) => (s ? [s] : []));
  }
}

/** The fleet's totals over its workers. */
export function sumStats(all: readonly FleetStats[]): {
  devices: number;
  connected: number;
  admitted: number;
  attempts: number;
  refused: Record<string, number>;
  socketErrors: Record<string, number>;
  connectTimeouts: number;
  published: number;
  acked: number;
} {
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const refused: Record<string, number> = {};
  const socketErrors: Record<string, number> = {};
  let [devices, connected, admitted, attempts, connectTimeouts, published, acked] = [0, 0, 0, 0, 0, 0, 0];
  for (const s of all) {
    devices += s.devices;
    connected += s.connected;
    admitted += s.admitted;
    attempts += s.attempts;
    connectTimeouts += s.connectTimeouts;
    published += s.published;
    acked += s.acked;
    add(refused, s.refused);
    add(socketErrors, s.socketErrors);
  }
  return { devices, connected, admitted, attempts, refused, socketErrors, connectTimeouts, published, acked };
}

/** Counter growth between two snapshots (of sumStats). */
export function deltaCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) > 0) out[k] = v - (a[k] ?? 0);
  return out;
}

/**
 * The kernel's TCP counters that show a connection storm hitting the listen queue (Linux
 * /proc/net/netstat, TcpExt): ListenOverflows = a handshake completed but the accept queue (the
 * listener's backlog, at most net.core.somaxconn) was full, so it was dropped and the client's SYN
 * retransmission (1 s, 2 s, 4 s, ... backoff) had to bring it back; TCPSynRetrans = SYNs clients
 * sent again. They count the whole network namespace: other loopback traffic adds a little.
 */
export function tcpListenCounters(): { listenOverflows: number; listenDrops: number; synRetrans: number } {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const keys = (lines[i] ?? '').split(' ');
    const vals = (lines[i + 1] ?? '').split(' ').map(Number);
    const get = (k: string) => vals[keys.indexOf(k)] ?? Number.NaN;
    return {
      listenOverflows: get('ListenOverflows'),
      listenDrops: get('ListenDrops'),
      synRetrans: get('TCPSynRetrans'),
    };
  } catch {
    return { listenOverflows: Number.NaN, listenDrops: Number.NaN, synRetrans: Number.NaN };
  }
}
