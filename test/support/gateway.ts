import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Logger, pino } from 'pino';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { Gateway } from '../../gateway/app.js';

const exec = promisify(execFile);

export interface TestDevice {
  id: string;
  model: string;
  location?: { district: string; street: string; community: string; grid: string };
  state?: string;
  attrs?: Record<string, string | number | boolean>;
  hj212?: { mn: string; password?: string };
}

export const LOCATION = {
  district: '鼓楼区',
  street: '相国寺街道',
  community: '书店街社区',
  grid: '网格-07',
};

/** A gateway on free ports, with the given devices, writing to the suite's VictoriaMetrics. */
export async function startGateway(
  devices: TestDevice[] | string,
  env: Record<string, string> = {},
  opts: { stopStepMs?: number; logger?: Logger } = {},
): Promise<{ gw: Gateway; dir: string; mqttUrl: string; httpUrl: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gg-e2e-'));
  const file = join(dir, 'devices.yaml');
  writeFileSync(
    file,
    typeof devices === 'string'
      ? devices
      : stringify(
          { devices: devices.map((d) => ({ location: LOCATION, state: 'active', ...d })) },
          { aliasDuplicateObjects: false },
        ),
  );
  const config = loadConfig({
    env: {
      GRIDGATE_MQTT__EMBEDDED__PORT: '0',
      GRIDGATE_REDIS__URL: inject('redisUrl'),
      GRIDGATE_HTTP__PORT: '0',
      GRIDGATE_TSDB__FLUSH_INTERVAL_MS: '100',
      GRIDGATE_DEVICES__IMPORT: file,
      GRIDGATE_REDIS__PREFIX: `gg-test-${Math.random().toString(36).slice(2, 10)}:`,
      GRIDGATE_AUTH__REQUIRED: 'false',
      GRIDGATE_MQTT__AUTH__REQUIRED: 'false',
      GRIDGATE_INGEST__LOG_INTERVAL_S: '1',
      // What a gateway writes stays in the test's own folder, never in the checkout.
      GRIDGATE_MQTT__AUTH__SECRET_KEY_FILE: join(dir, 'mqtt-secret.key'),
      GRIDGATE_CAMERAS__SNAPSHOTS__DIR: join(dir, 'snapshots'),
      GRIDGATE_DISPATCH__OUTBOX__DIR: join(dir, 'outbox'),
      GRIDGATE_TSDB__SPOOL__DIR: join(dir, 'spool'),
      ...env,
    },
  });
  const gw = new Gateway({
    config,
    logger: opts.logger ?? pino({ level: process.env.GRIDGATE_TEST_LOG ?? 'silent' }),
    stopStepMs: opts.stopStepMs,
  });
  await gw.start();
  const ports = gw.ports;
  return { gw, dir, mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`, httpUrl: `http://127.0.0.1:${ports.http}` };
}

/** The real third-party client: mosquitto_pub from Debian's mosquitto-clients. */
export async function mosquittoPub(
  port: number,
  topic: string,
  message: string,
  opts: { qos?: 0 | 1; clientId?: string; file?: string } = {},
): Promise<void> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-q', String(opts.qos ?? 1)];
  if (opts.clientId) args.push('-i', opts.clientId);
  if (opts.file) args.push('-f', opts.file);
  else args.push('-m', message);
  await exec('mosquitto_pub', args, { timeout: 15_000 });
}

export function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 8);
}
