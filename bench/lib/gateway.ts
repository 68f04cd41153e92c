import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../scripts/services.js';
import { type Child, CLI, spawnNode, waitHttp } from './proc.js';

/**
 * The real gateway (`gridgate start`) as a child process with a generated config: the system under
 * test of scenarios 1-5. Authentication and per-device rate limits are off (the load generator
 * shares 4 connections among all devices, and measures the pipeline, not the limiter); gzip is off
 * because the database is on loopback (the baselines do not compress either).
 */
export interface GatewayRun {
  child: Child;
  httpUrl: string;
  mqttUrl: string;
  hj212Port: number;
  /** Spawn -> /healthz answering, ms. */
  startMs: number;
  /** Counters scraped from /metrics. */
  counters(): Promise<Counters>;
  stop(): Promise<void>;
}

export interface Counters {
  /** Messages the subscriber took in. */
  received: number;
  /** Lines the database accepted. */
  written: number;
}

export interface GatewayOptions {
  dir: string;
  name: string;
  tsdbUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** Device file imported at start (YAML or CSV); none: the registry as it is in Redis. */
  devicesFile?: string;
  /** External broker; when unset the embedded broker listens on a free port. */
  externalMqttUrl?: string;
  hj212?: boolean;
  /** Rule folder; default the shipped config/rules. */
  rulesDir?: string;
  /** BullMQ queue alert events go to; default gridgate-alerts. */
  dispatchQueue?: string;
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

export async function startGateway(opts: GatewayOptions): Promise<GatewayRun> {
  const [httpPort, mqttPort, hj212Port] = await Promise.all([freePort(), freePort(), freePort()]);
  const config = {
    log: { level: 'warn', pretty: false },
    http: { host: '127.0.0.1', port: httpPort },
    auth: { required: false },
    mqtt: {
      ...(opts.externalMqttUrl ? { url: opts.externalMqttUrl, clientId: `gridgate-bench-${opts.name}` } : {}),
      auth: { required: false },
      embedded: { host: '127.0.0.1', port: mqttPort },
      alertTopic: '',
    },
    hj212: { enabled: opts.hj212 === true, host: '127.0.0.1', port: hj212Port },
    tsdb: { url: opts.tsdbUrl, batchSize: 5000, flushIntervalMs: 1000, gzip: false },
    redis: { url: opts.redisUrl, prefix: opts.redisPrefix },
    devices: opts.devicesFile ? { import: opts.devicesFile } : {},
    rules: { watch: false, ...(opts.rulesDir ? { dir: opts.rulesDir } : {}) },
    dispatch: opts.dispatchQueue ? { queue: opts.dispatchQueue } : {},
    limits: { deviceRatePerS: 1_000_000, deviceBurst: 1_000_000, maxConnectionsPerIp: 100_000 },
  };
  const file = join(opts.dir, `gateway-${opts.name}.yaml`);
  await writeFile(file, stringify(config));
  const child = spawnNode([CLI, 'start', '--config', file], { nodeArgs: opts.nodeArgs });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  let startMs: number;
  try {
    startMs = await waitHttp(`${httpUrl}/healthz`, opts.startTimeoutMs ?? 60_000, child);
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
  return {
    child,
    httpUrl,
    mqttUrl: opts.externalMqttUrl ?? `mqtt://127.0.0.1:${mqttPort}`,
    hj212Port,
    startMs,
    counters: () =>
      scrape(`${httpUrl}/metrics`, 'gridgate_messages_received_total', 'gridgate_tsdb_lines_written_total'),
    stop: () => child.stop('SIGTERM', 20_000),
  };
}

/** Two counters from a Prometheus text page. */
export async function scrape(url: string, receivedName: string, writtenName: string): Promise<Counters> {
  const text = await (await fetch(url)).text();
  const get = (name: string) => {
    const m = new RegExp(`^${name}(?:\\{\\})? ([0-9.e+]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { received: get(receivedName), written: get(writtenName) };
}
