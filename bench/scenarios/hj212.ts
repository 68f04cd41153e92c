import { startGateway } from '../lib/gateway.js';
import { DIST, spawnNode } from '../lib/proc.js';
import { measureThroughput } from '../lib/throughput.js';
import type { BenchContext, Row } from '../lib/types.js';

/**
 * Scenario 5: HJ 212-2017 real-time frames over TCP into the gateway's listener (deframe, CRC, PW,
 * decode, write), against the in-process parse microbenchmark (bench/hj212-parse.ts) as the
 * one-core ceiling of the protocol work alone.
 */

// Colour codes cli-table3 puts around the header.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** frames/s of the full deframe+parse+decode stage from the microbenchmark's table. */
async function microbench(): Promise<{ fps?: number; output: string }> {
  const child = spawnNode([`${DIST}/bench/hj212-parse.js`]);
  await child.exited;
  const output = child.stdout().replace(ANSI, '');
  const line = output.split('\n').find((l) => l.includes('deframe+crc+parse+decode'));
  const cell = line?.split('│')[2]?.trim().replaceAll(',', '');
  return { fps: cell ? Number(cell) : undefined, output };
}

export async function hj212Scenario(ctx: BenchContext, stations: number): Promise<Row[]> {
  const scenario = `5 HJ 212 over TCP, ${stations} stations`;
  ctx.log(`${scenario}: parse microbenchmark`);
  const micro = await microbench();
  ctx.log(`${scenario}: gridgate`);
  const gw = await startGateway({
    dir: ctx.dir,
    name: 'hj212',
    tsdbUrl: ctx.vmUrl,
    redisUrl: ctx.redisUrl,
    redisPrefix: 'bench:hj212:',
    devicesFile: ctx.fleetFile,
    hj212: true,
  });
  try {
    const r = await measureThroughput(
      { pid: gw.child.pid, counters: gw.counters, stderr: gw.child.stderr },
      {
        url: '',
        devices: stations,
        rate: 0,
        durationS: ctx.durationS,
        qos: 0,
        spawn: () => [
          spawnNode([
            `${DIST}/bench/hj212-sender.js`,
            '--port',
            String(gw.hj212Port),
            '--stations',
            String(stations),
            '--duration',
            String(ctx.durationS),
          ]),
        ],
      },
      { victoriametrics: ctx.vmPid },
    );
    return [
      {
        scenario,
        system: 'baseline: deframe+CRC+parse+decode, in-process, 1 core',
        msgsPerS: micro.fps,
        cpuPct: 100,
        ratio: 1,
        note: micro.fps === undefined ? 'microbenchmark output not understood' : 'bench/hj212-parse.ts',
        detail: { output: micro.output },
      },
      {
        scenario,
        system: 'gridgate start (hj212 listener)',
        msgsPerS: r.msgsPerS,
        cpuPct: r.cpuPct,
        peakRssMb: r.peakRssMb,
        ratio: micro.fps ? r.msgsPerS / micro.fps : undefined,
        note: r.deliveredPct < 99.5 ? `delivered ${r.deliveredPct.toFixed(1)}% of frames sent` : undefined,
        detail: { ...r },
      },
    ];
  } finally {
    await gw.stop();
  }
}
