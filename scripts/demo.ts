/**
 * `make demo`: local Redis + VictoriaMetrics (data under .data/), the gateway with its embedded
 * broker, the device simulators and the example alert consumer, and a live summary a person can
 * read. Ctrl-C stops everything it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DemoCameras, startDemoCameras } from './demo-cameras.js';
import { freePort, startServices } from './services.js';

const root = resolve(import.meta.dirname, '..', '..');
const data = join(root, '.data', 'demo');
const cli = join(root, 'dist', 'gateway', 'cli', 'main.js');
const children: ChildProcess[] = [];
/** The same seed and sizes for --write-devices and the run, so the gateway knows every simulated device. */
const FLEET = ['--devices', '200', '--seed', '7', '--hj212-stations', '4'];
let stopping = false;

function run(name: string, args: string[], quiet = true): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: root,
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'pipe'],
    env: { ...process.env, GRIDGATE_LOG__PRETTY: 'false' },
  });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-3000);
  });
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`\n${name} exited (code ${code}). Last output:\n${tail}`);
      void shutdown(1);
    }
  });
  children.push(child);
  return child;
}

async function shutdown(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  for (const c of children.reverse()) c.kill('SIGINT');
  await Promise.all(
    children.map((c) => new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('exit', () => r())))),
  );
  await cameras?.stop();
  await services?.stop();
  process.exit(code);
}

let services: Awaited<ReturnType<typeof startServices>> | undefined;
let cameras: DemoCameras | undefined;

async function main(): Promise<void> {
  mkdirSync(data, { recursive: true });
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  services = await startServices({ redis: true, vm: true }, join(data, 'services'));
  const [mqttPort, httpPort, hj212Port] = await Promise.all([freePort(), freePort(), freePort()]);
  const devicesFile = join(data, 'devices.yaml');
  const configFile = join(data, 'gridgate.yaml');
  writeFileSync(
    configFile,
    [
      '# written by make demo',
      'log: { level: info }',
      `http: { host: 127.0.0.1, port: ${httpPort} }`,
      `mqtt: { embedded: { host: 127.0.0.1, port: ${mqttPort} }, auth: { required: false } }`,
      `hj212: { enabled: true, host: 127.0.0.1, port: ${hj212Port} }`,
      `tsdb: { url: "${services.vm!.url}", flushIntervalMs: 1000 }`,
      `redis: { url: "${services.redis!.url}", prefix: "gridgate-demo:" }`,
      `devices: { import: "${devicesFile}" }`,
      '# demo only: open API and anonymous MQTT on loopback. Never in production.',
      'auth: { required: false }',
      '',
    ].join('\n'),
  );
  // The simulators write the fleet they will run, so the gateway knows every device.
  await new Promise<void>((res, rej) => {
    const c = spawn(process.execPath, [cli, 'simulate', ...FLEET, '--write-devices', devicesFile], {
      cwd: root,
      stdio: 'inherit',
    });
    c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`simulate --write-devices exited ${code}`))));
  });
  cameras = await startDemoCameras(devicesFile);
  console.log(`VictoriaMetrics  ${services.vm!.url}   (try ${services.vm!.url}/vmui)`);
  console.log(`Redis            ${services.redis!.url}`);
  console.log(`MQTT broker      mqtt://127.0.0.1:${mqttPort}`);
  console.log(`HJ 212 listener  tcp://127.0.0.1:${hj212Port}`);
  console.log(`HTTP API         http://127.0.0.1:${httpPort}   (/healthz, /metrics, /api/v1/…)`);
  console.log(`RTSP cameras     rtsp://127.0.0.1:${cameras.sim.port}/<camera>/main   (simulated)`);
  for (const c of cameras.cameras) {
    console.log(`  live view      http://127.0.0.1:${httpPort}/cameras/${c}/view`);
  }
  run('gateway', ['start', '--config', configFile]);
  await waitHttp(`http://127.0.0.1:${httpPort}/healthz`);
  run('simulators', [
    'simulate',
    '--url',
    `mqtt://127.0.0.1:${mqttPort}`,
    ...FLEET,
    '--speed',
    '60',
    '--hj212',
    `127.0.0.1:${hj212Port}`,
  ]);
  // The example downstream consumer: prints each alert event from the BullMQ queue and acks firing incidents.
  const consumer = spawn(
    process.execPath,
    [
      join(root, 'dist', 'examples', 'alert-consumer.js'),
      '--redis',
      services.redis!.url,
      '--queue',
      'gridgate-alerts',
      '--ack',
      '--url',
      `http://127.0.0.1:${httpPort}`,
      '--by',
      '值班员',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  consumer.stdout?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) console.log(`  [consumer] ${line}`);
  });
  children.push(consumer);
  cameras.schedule((line) => console.log(`  [cameras]  ${line}`));
  const { summaryLoop } = await import('./demo-summary.js');
  await summaryLoop({
    api: `http://127.0.0.1:${httpPort}`,
    vm: services.vm!.url,
    redis: services.redis!.url,
    stopped: () => stopping,
  });
}

async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status < 500 || res.status === 503) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${(err as Error).stack ?? String(err)}`);
  void shutdown(1);
});
