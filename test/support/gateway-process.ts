import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'gateway/cli/main.ts');
/** tsx's loader by path: the gateway runs from its own folder, where there is no node_modules. */
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

const running = new Set<GatewayProcess>();

/** SIGKILL every gateway process still running (an afterAll of a test that started some). */
export async function killGatewayProcesses(): Promise<void> {
  for (const gw of [...running]) await gw.kill();
}

export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * `gridgate start` as its own node process, as a service manager runs it. Node itself loads tsx
 * (no tsx wrapper process), so the child's pid is the gateway's: a SIGKILL is a crash of the gateway.
 */
export class GatewayProcess {
  private readonly out: string[] = [];
  private readonly exited: Promise<void>;
  mqttPort = 0;
  httpUrl = '';

  private constructor(private readonly child: ChildProcess) {
    let partial = '';
    child.stdout?.on('data', (c: Buffer) => {
      const parts = (partial + c.toString()).split('\n');
      partial = parts.pop() ?? '';
      this.out.push(...parts.filter((l) => l !== ''));
    });
    child.stderr?.on('data', (c: Buffer) => this.out.push(c.toString()));
    this.exited = new Promise((done) => child.once('exit', () => done()));
  }

  /** Start with `configFile` (log.pretty off) and wait for "gridgate started". */
  static async start(configFile: string, cwd: string): Promise<GatewayProcess> {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDGATE_')));
    const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI, 'start', '-c', configFile], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const gw = new GatewayProcess(child);
    running.add(gw);
    const line = await until(
      '"gridgate started"',
      () =>
        gw.out.find((l) => l.includes('"gridgate started"')) ?? (child.exitCode !== null ? '' : undefined),
      60_000,
    );
    if (line === '') throw new Error(`the gateway exited: ${gw.log()}`);
    const ports = (JSON.parse(line) as { ports: { mqtt: number; http: number } }).ports;
    gw.mqttPort = ports.mqtt;
    gw.httpUrl = `http://127.0.0.1:${ports.http}`;
    return gw;
  }

  /** A crash: nothing of the graceful stop runs. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
    running.delete(this);
  }

  /** SIGTERM, as a service manager stops it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    await this.exited;
    running.delete(this);
    return this.child.exitCode;
  }

  /** Everything it printed (JSON log lines, and stderr). */
  log(): string {
    return this.out.join('\n');
  }
}
