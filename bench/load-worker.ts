/**
 * One load process: the simulators' load mode (runLoad) over the deterministic bench fleet, with a
 * hard stop a little after the duration, printing its LoadResult as one JSON line.
 *
 *   node dist/bench/load-worker.js --url mqtt://127.0.0.1:1883 --devices 1000 --rate 20000 \
 *     --duration 20 --qos 0 [--connections 4] [--seed 1]
 */
import { MODELS } from '../processors/devices/index.js';
import { buildFleet } from '../simulators/fleet.js';
import { runLoad } from '../simulators/load.js';
import { argMap } from './lib/baseline-sink.js';

const a = argMap(process.argv.slice(2));
const num = (k: string, d: number) => (a.has(k) ? Number(a.get(k)) : d);
const durationS = num('duration', 20);
const fleet = buildFleet({ devices: num('devices', 1000), seed: num('seed', 1), models: MODELS });
const ac = new AbortController();
process.once('SIGTERM', () => ac.abort());
const result = await runLoad({
  url: a.get('url') ?? 'mqtt://127.0.0.1:1883',
  fleet,
  rate: num('rate', 10_000),
  durationS,
  qos: num('qos', 0) === 1 ? 1 : 0,
  connections: num('connections', 4),
  seed: num('seed', 1),
  maxS: durationS + 3,
  signal: ac.signal,
});
console.log(JSON.stringify(result));
process.exit(0);
