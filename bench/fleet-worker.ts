/**
 * One load process of the fleet scenario (scenario 7): devices [from, to) of the gauge fleet, each
 * with its own MQTT connection and secret (simulators/fleet-connections.ts). Driven by its parent
 * over the IPC channel:
 *
 *   { cmd: 'publishing', on: boolean }   readings every interval on/off (off: keep-alive only)
 *   { cmd: 'mark' }                      start a new admission count (before a reconnect storm)
 *   { cmd: 'stats' }                     answers { stats: FleetStats }
 *   { cmd: 'stop' }                      DISCONNECT everything, answer { stats, stopped: true }, exit
 *
 *   node dist/bench/fleet-worker.js --host 127.0.0.1 --port 1883 --secrets FILE --devices 10000 \
 *     [--from 0 --to 10000] [--sources 127.0.0.2,127.0.0.3] [--interval-ms 10000] [--keepalive 60] \
 *     [--reconnect-ms 1000 --jitter 0.5] [--qos 1] [--seed 1] [--max-s 1800]
 *
 * It exits by itself when its parent goes away or after --max-s, so a failed run leaves nothing.
 */
import { readFile } from 'node:fs/promises';
import { FleetConnections } from '../simulators/fleet-connections.js';
import { buildGaugeFleet, parseSecretsCsv, toFleetDevices } from '../simulators/gauge-fleet.js';
import { argMap } from './lib/baseline-sink.js';

type Command = { cmd: 'publishing'; on: boolean } | { cmd: 'mark' } | { cmd: 'stats' } | { cmd: 'stop' };

const a = argMap(process.argv.slice(2));
const num = (k: string, d: number) => (a.has(k) ? Number(a.get(k)) : d);
const secretsFile = a.get('secrets');
if (!secretsFile || !process.send) {
  console.error('usage: fleet-worker --secrets FILE ... (run by bench/run.js with an IPC channel)');
  process.exit(2);
}
const total = num('devices', 1000);
const seed = num('seed', 1);
const from = num('from', 0);
const to = Math.min(total, num('to', total));
const secrets = parseSecretsCsv(await readFile(secretsFile, 'utf8'));
const devices = toFleetDevices(buildGaugeFleet(total, seed).slice(from, to), secrets, seed);
const sources = (a.get('sources') ?? '').split(',').filter((s) => s !== '');
const fleet = new FleetConnections({
  host: a.get('host') ?? '127.0.0.1',
  port: num('port', 1883),
  devices,
  localAddresses: sources,
  keepaliveS: num('keepalive', 60),
  intervalMs: num('interval-ms', 10_000),
  qos: num('qos', 1) === 0 ? 0 : 1,
  reconnectMs: num('reconnect-ms', 1000),
  jitter: num('jitter', 0.5),
  seed: seed + from,
});

let stopping = false;
const stop = async (answer: boolean) => {
  if (stopping) return;
  stopping = true;
  await fleet.stop();
  if (answer && process.connected) {
    await new Promise<void>((resolve) =>
      process.send?.({ stats: fleet.stats(), stopped: true }, () => resolve()),
    );
  }
  process.exit(0);
};
process.on('message', (m: Command) => {
  switch (m.cmd) {
    case 'publishing':
      fleet.setPublishing(m.on);
      break;
    case 'mark':
      fleet.mark();
      break;
    case 'stats':
      process.send?.({ stats: fleet.stats() });
      break;
    case 'stop':
      void stop(true);
      break;
  }
});
process.once('disconnect', () => void stop(false));
process.once('SIGTERM', () => void stop(false));
setTimeout(() => void stop(false), num('max-s', 1800) * 1000).unref();
fleet.start();
process.send({ started: true, devices: devices.length });
