import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './support.js';

/**
 * The embedded broker near the process's open-file limit: a real broker in a child process started
 * under `ulimit -n`, real MQTT clients opening connections until it refuses them.
 */
const BROKER = resolve(import.meta.dirname, '../../adapters/mqtt/embedded-broker.ts');
const FD_LIMIT = 128;
const SCRIPT = `
import pino from 'pino';
import { EmbeddedBroker } from ${JSON.stringify(BROKER)};
const reserve = Number(process.env.FD_RESERVE);
const broker = new EmbeddedBroker({
  host: '127.0.0.1',
  port: 0,
  maxPayloadBytes: 1024,
  route: () => undefined,
  onMessage: () => undefined,
  logger: pino({ level: 'info' }),
  fdBudget: { reserve, sampleMs: 200 },
});
await broker.start();
`;

interface Child {
  proc: ChildProcess;
  lines: Array<{ msg?: string; port?: number; limit?: number; openFiles?: number; cause?: string }>;
  port: number;
}

let child: Child | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  child?.proc.kill('SIGKILL');
  child = undefined;
});

async function startBroker(reserve: number): Promise<Child> {
  const proc = spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`,
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      SCRIPT,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FD_RESERVE: String(reserve) } },
  );
  const lines: Child['lines'] = [];
  createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l));
    } catch {
      // not a log line
    }
  });
  await waitFor('the broker to listen', () => lines.some((l) => l.port !== undefined && l.port > 0), 30_000);
  const port = lines.find((l) => l.port)?.port as number;
  child = { proc, lines, port };
  return child;
}

/** Opens one MQTT connection; true once CONNACK arrives, false when the broker closes it first. */
function open(port: number): Promise<boolean> {
  return new Promise((done) => {
    const c = connect(`mqtt://127.0.0.1:${port}`, {
      clientId: `fd-${clients.length}`,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    clients.push(c);
    c.on('error', () => undefined);
    c.once('connect', () => done(true));
    c.once('close', () => done(false));
  });
}

/** Connections until the first refusal (bounded well above the limit, so a broken check fails). */
async function fill(port: number): Promise<number> {
  for (let i = 0; i < FD_LIMIT + 20; i++) if (!(await open(port))) return i;
  throw new Error(`all ${FD_LIMIT + 20} connections were admitted under ulimit -n ${FD_LIMIT}`);
}

const refusalLine = (c: Child) => c.lines.find((l) => l.msg?.startsWith('mqtt connection refused:'));

describe.each([
  ['refuses before the limit, keeping a reserve for the rest of the gateway', 64, 'reserve'],
  // A negative reserve stands for a stale sample (descriptors opened elsewhere since): the check
  // lets connections through until accept() itself fails with EMFILE.
  ['survives EMFILE from accept() itself', -16, 'emfile'],
])('near RLIMIT_NOFILE, the embedded broker %s', (_what, reserve, cause) => {
  it('refuses with one clear log line, stays up, and admits again once connections close', async () => {
    const c = await startBroker(reserve);
    const admitted = await fill(c.port);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(FD_LIMIT - Math.max(reserve, 0));
    // A few more: refused again, the process stays up, and the log is not flooded.
    for (let i = 0; i < 5; i++) expect(await open(c.port)).toBe(false);
    await waitFor('the refusal line', () => refusalLine(c) !== undefined);
    const line = refusalLine(c)!;
    expect(line.limit).toBe(FD_LIMIT);
    expect(line.cause).toBe(cause);
    expect(line.openFiles).toBeGreaterThan(admitted);
    expect(line.msg).toMatch(/ulimit -n/);
    expect(line.msg).toMatch(/LimitNOFILE/);
    expect(c.lines.filter((l) => l.msg?.startsWith('mqtt connection refused:'))).toHaveLength(1);
    expect(c.proc.exitCode).toBeNull();

    // Close five admitted connections: a new one is admitted.
    const connected = clients.filter((x) => x.connected).slice(0, 5);
    await Promise.all(connected.map((x) => x.endAsync(true)));
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await open(c.port);
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok).toBe(true);
    expect(c.proc.exitCode).toBeNull();
  });
});
