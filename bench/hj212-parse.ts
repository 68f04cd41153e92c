/**
 * HJ 212 ingest throughput on one core: deframe (length + CRC check) -> parse -> decode, over a
 * realistic mix of frames (dust and air real-time data, minute statistics) arriving in TCP-sized
 * chunks that split frames at arbitrary points. Prints a table; asserts nothing.
 *
 *   npx tsx bench/hj212-parse.ts
 */
import Table from 'cli-table3';
import { decodePacket } from '../processors/decode/hj212.js';
import airModel from '../processors/devices/air/airsense-ms100-hj212.js';
import type { DeviceModel } from '../processors/devices/define.js';
import dustModel from '../processors/devices/dust/sinodust-yc200-hj212.js';
import { Hj212Deframer } from '../processors/hj212/deframer.js';
import { buildCp, buildFrame, buildSegment, type CodeValues } from '../processors/hj212/frame.js';
import { parseDataSegment } from '../processors/hj212/parse.js';
import { baseTags } from '../processors/tags.js';
import { formatLocalCompact } from '../processors/time.js';
import type { Device } from '../processors/types.js';
import { sampleCanonical, toVendorCodes } from '../simulators/hj212/values.js';
import { createRng } from '../simulators/prng.js';

const rng = createRng(1);
const t0 = Date.UTC(2026, 0, 1, 2, 0, 0);

function frameFor(model: DeviceModel, kind: 'dust' | 'air', cn: string, i: number): Buffer {
  const at = t0 + i * 1000;
  const codes = toVendorCodes(model, sampleCanonical(kind, at, rng));
  const cp: Record<string, CodeValues> = {};
  for (const [code, v] of codes) {
    cp[code] = cn === '2011' ? { Rtd: v, Flag: 'N' } : { Avg: v, Min: v * 0.8, Max: v * 1.2, Flag: 'N' };
  }
  const qn = `${formatLocalCompact(at)}${String(i % 1000).padStart(3, '0')}`;
  return buildFrame(
    buildSegment({
      qn,
      st: '22',
      cn,
      pw: '123456',
      mn: `MN${kind}${i % 50}`,
      flag: 5,
      cp: buildCp(formatLocalCompact(at), cp),
    }),
  );
}

// 70 % dust real-time, 20 % air real-time, 10 % minute statistics.
const N = 2000;
const frames: Buffer[] = [];
for (let i = 0; i < N; i++) {
  const r = i % 10;
  if (r < 7) frames.push(frameFor(dustModel, 'dust', '2011', i));
  else if (r < 9) frames.push(frameFor(airModel, 'air', '2011', i));
  else frames.push(frameFor(i % 20 === 9 ? dustModel : airModel, i % 20 === 9 ? 'dust' : 'air', '2051', i));
}
const stream = Buffer.concat(frames);
const chunks: Buffer[] = [];
for (let off = 0; off < stream.length; off += 1400) chunks.push(stream.subarray(off, off + 1400));
const avgBytes = Math.round(stream.length / N);

function device(model: DeviceModel): Device {
  return {
    id: `bench-${model.family}`,
    model: model.id,
    family: model.family,
    location: { district: 'd', street: 's', community: 'c', grid: 'g' },
    state: 'active',
    attrs: {},
    labels: {},
    cameras: [],
  };
}
const dustDev = device(dustModel);
const airDev = device(airModel);
const dustTags = baseTags(dustDev);
const airTags = baseTags(airDev);

type Stage = 'deframe+crc' | 'deframe+crc+parse' | 'deframe+crc+parse+decode';

function pass(stage: Stage): number {
  const d = new Hj212Deframer();
  let n = 0;
  for (const c of chunks) {
    for (const item of d.push(c)) {
      if (item.kind !== 'frame') throw new Error('bench stream has a bad frame');
      n++;
      if (stage === 'deframe+crc') continue;
      const p = parseDataSegment(item.data.toString('latin1'));
      if (!p.ok) throw new Error(p.detail);
      if (stage === 'deframe+crc+parse') continue;
      const isDust = p.packet.mn.startsWith('MNdust');
      const r = decodePacket(
        {
          msg: {
            transport: 'hj212',
            kind: 'telemetry',
            deviceId: 'x',
            topic: 't',
            payload: item.data,
            receivedAt: t0,
          },
          device: isDust ? dustDev : airDev,
          model: isDust ? dustModel : airModel,
          tags: isDust ? dustTags : airTags,
        },
        p.packet,
      );
      if (r.readings.length === 0) throw new Error('no readings');
    }
  }
  return n;
}

function measure(stage: Stage, seconds: number): { fps: number; mbps: number } {
  for (let i = 0; i < 20; i++) pass(stage); // warm-up
  let frames = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    frames += pass(stage);
    elapsed = process.hrtime.bigint() - start;
  }
  const s = Number(elapsed) / 1e9;
  return { fps: frames / s, mbps: (frames * avgBytes) / s / 1e6 };
}

const table = new Table({ head: ['stage', 'frames/s', 'MB/s', 'µs/frame'] });
for (const stage of ['deframe+crc', 'deframe+crc+parse', 'deframe+crc+parse+decode'] as const) {
  const { fps, mbps } = measure(stage, 1.5);
  table.push([stage, Math.round(fps).toLocaleString('en'), mbps.toFixed(1), (1e6 / fps).toFixed(2)]);
}
console.log(
  `HJ 212 ingest, one core, node ${process.version}: ${N} frames (avg ${avgBytes} B; 70% dust 2011, 20% air 2011, 10% 2051) in 1400-byte chunks`,
);
console.log(table.toString());
