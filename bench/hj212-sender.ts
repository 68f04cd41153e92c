/**
 * HJ 212-2017 load over TCP: one connection per station, each writing pre-built real-time data
 * frames (CN 2011) back to back, paced only by TCP back-pressure, for --duration seconds. Flag=4
 * (2017, no answer requested: HJ 212-2017 §6.3.3), so throughput is not bounded by a 9014 round
 * trip; replies, if any, are read and discarded. Prints {sent, elapsedMs} as one JSON line.
 *
 *   node dist/bench/hj212-sender.js --port P --stations 8 --duration 20
 */
import { connect, type Socket } from 'node:net';
import { MODELS } from '../processors/devices/index.js';
import {
  buildCp,
  buildFrame,
  buildSegment,
  type CodeValues,
  FLAG_VERSION_2017,
} from '../processors/hj212/frame.js';
import { formatLocalCompact } from '../processors/time.js';
import { sampleCanonical, toVendorCodes } from '../simulators/hj212/values.js';
import { buildHj212Fleet } from '../simulators/hj212-fleet.js';
import { createRng } from '../simulators/prng.js';
import { argMap } from './lib/baseline-sink.js';

const a = argMap(process.argv.slice(2));
const port = Number(a.get('port'));
const durationS = Number(a.get('duration') ?? 20);
const fleet = buildHj212Fleet({ stations: Number(a.get('stations') ?? 8), models: MODELS });
const FRAMES_PER_STATION = 400;
const rng = createRng(7);
const now = Date.now();

function framesFor(i: number): Buffer {
  const spec = fleet.specs[i]!;
  const model = MODELS.find((m) => m.id === fleet.entries[i]!.model)!;
  const frames: Buffer[] = [];
  for (let k = 0; k < FRAMES_PER_STATION; k++) {
    // One frame per second of the last FRAMES_PER_STATION seconds: distinct QN and DataTime.
    const at = now - (FRAMES_PER_STATION - k) * 1000;
    const cp: Record<string, CodeValues> = {};
    for (const [code, v] of toVendorCodes(model, sampleCanonical(spec.kind, at, rng)))
      cp[code] = { Rtd: v, Flag: 'N' };
    frames.push(
      buildFrame(
        buildSegment({
          qn: `${formatLocalCompact(at)}${String(k % 1000).padStart(3, '0')}`,
          st: spec.kind === 'dust' ? '22' : '22',
          cn: '2011',
          pw: spec.password,
          mn: spec.mn,
          flag: FLAG_VERSION_2017,
          cp: buildCp(formatLocalCompact(at), cp),
        }),
      ),
    );
  }
  return Buffer.concat(frames);
}

let sent = 0;
const start = Date.now();
const deadline = start + durationS * 1000;
await Promise.all(
  fleet.specs.map(
    (_, i) =>
      new Promise<void>((resolve) => {
        const block = framesFor(i);
        const socket: Socket = connect(port, '127.0.0.1');
        socket.on('data', () => undefined);
        socket.on('error', () => resolve());
        const pump = () => {
          while (Date.now() < deadline) {
            sent += FRAMES_PER_STATION;
            if (!socket.write(block)) return void socket.once('drain', pump);
          }
          socket.end(() => resolve());
        };
        socket.once('connect', pump);
      }),
  ),
);
console.log(JSON.stringify({ sent, elapsedMs: Date.now() - start }));
process.exit(0);
