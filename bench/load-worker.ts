/**
 * One load process: the simulators' load mode (runLoad) over the deterministic bench fleet, with a
 * hard stop a little after the duration, printing its LoadResult as one JSON line.
 *
 *   node dist/bench/load-worker.js --url mqtt://127.0.0.1:1883 --devices 1000 --rate 20000 \
 *     --duration 20 --qos 0 [--connections 4] [--seed 1]
 *   node dist/bench/load-worker.js --url ... --devices 1000 --count 100000 --qos 0
 *
 * With --count, N messages as fast as the broker takes them (paced by socket drain only).
 */
import { MODELS } from '../processors/devices/index.js';
import { buildFleet } from '../simulators/fleet.js';
import { runLoad } from '../simulators/load.js';
import { argMap } from './lib/baseline-sink.js';

const a = argMap(process.argv.slice(2));
const num = (k: string, d: number) => (a.has(k) ? Number(a.get(k)) : d);
const count = num('count', 0);
/** A rate no sender here reaches: the burst is paced by TCP back-pressure alone. */
const BURST_RATE = 10_000_000;
const rate = count > 0 ? BURST_RATE : num('rate', 10_000);
const durationS = count > 0 ? count / BURST_RATE : num('duration', 20);
const fleet = buildFleet({ devices: num('devices', 1000), seed: num('seed', 1), models: MODELS });
const ac = new AbortController();
process.once('SIGTERM', () => ac.abort());
const result = await runLoad({
  url: a.get('url') ?? 'mqtt://127.0.0.1:1883',
  fleet,
  rate,
  durationS,
  qos: num('qos', 0) === 1 ? 1 : 0,
  connections: num('connections', 4),
  seed: num('seed', 1),
  maxS: count > 0 ? 120 : durationS + 3,
  signal: ac.signal,
});
console.log(JSON.stringify(result));
process.exit(0);
