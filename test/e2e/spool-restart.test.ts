import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { DiskSpoolConfig } from '../../adapters/fs/disk-spool.js';
import {
  InfluxWriter,
  type InfluxWriterOptions,
  type TsdbWriter,
} from '../../adapters/tsdb/influx-writer.js';
import { ThreadedInfluxWriter } from '../../adapters/tsdb/threaded-writer.js';
import type { Gateway } from '../../gateway/app.js';
import type { Reading } from '../../processors/types.js';
import { freePort, type RunningService, startVictoriaMetrics } from '../../scripts/services.js';
import { testSpool } from '../adapters/spool-support.js';
import { captureLogs, waitFor } from '../adapters/support.js';
import { mosquittoPub, startGateway } from '../support/gateway.js';
import { waitForSeries } from '../support/vm.js';

/** Readings numbered 0..n-1, one line each, a second apart, in the last hour. */
function numbered(device: string, from: number, n: number): Reading[] {
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  return Array.from({ length: n }, (_, k) => ({
    device,
    measurement: 'flood',
    time: t0 + (from + k) * 1000,
    fields: { water_level_m: from + k },
    tags: { device, model: 'acme-fg100', family: 'flood' },
  }));
}

/** The numbers VictoriaMetrics holds for the device, once `expected` of them are there. */
async function stored(vmUrl: string, device: string, expected: number): Promise<number[]> {
  const [s] = await waitForSeries(
    vmUrl,
    `flood_water_level_m{device="${device}"}`,
    (x) => (x[0]?.values.length ?? 0) >= expected,
    40_000,
  );
  return s!.values;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);

describe.each([
  { name: 'InfluxWriter', create: (o: InfluxWriterOptions) => new InfluxWriter(o) },
  { name: 'ThreadedInfluxWriter', create: (o: InfluxWriterOptions) => new ThreadedInfluxWriter(o) },
])('disk spool behind $name', ({ create }) => {
  const writers: TsdbWriter[] = [];
  let vm: RunningService | undefined;
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.stop();
    await vm?.stop();
    vm = undefined;
  });

  const make = (url: string, spool: DiskSpoolConfig) => {
    const w = create({
      url,
      org: 'gridgate',
      bucket: 'test',
      batchSize: 50,
      flushIntervalMs: 100,
      spoolRetryMs: 200,
      logger: captureLogs().logger,
      spool,
    });
    writers.push(w);
    return w;
  };

  /** A writer against a port with nothing behind it spools every batch; stopping it keeps them on disk. */
  async function spoolWhileDown(
    spool: DiskSpoolConfig,
    device: string,
    n: number,
    batches = 1,
  ): Promise<void> {
    const dead = make(`http://127.0.0.1:${await freePort()}`, spool);
    const per = n / batches;
    for (let b = 0; b < batches; b++) {
      for (const r of numbered(device, b * per, per)) dead.write(r);
      // Fails at once, and a failure during a flush goes straight to the spool.
      await dead.flush();
    }
    expect(dead.stats).toMatchObject({ linesWritten: 0, linesSpooled: n });
    expect(dead.spooledLines).toBe(n);
    await dead.stop();
  }

  it('writes what it spooled while the database was down once it is back on the same URL', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const device = `spool-back-${randomUUID()}`;
    const writer = make(url, testSpool());
    for (const r of numbered(device, 0, 120)) writer.write(r);
    await writer.flush();
    await waitFor('the lines to reach the spool', () => writer.spooledLines === 120);

    vm = await startVictoriaMetrics(join(mkdtempSync(join(tmpdir(), 'gg-vm-')), 'vm'), port);
    await waitFor(
      'the spool to drain',
      () => writer.spooledLines === 0 && writer.stats.linesWritten === 120,
      30_000,
    );
    expect((await stored(url, device, 120)).sort((a, b) => a - b)).toEqual(range(0, 120));
  });

  it('a restarted writer sends what the stopped one spooled, once', async () => {
    const vmUrl = inject('vmUrl');
    const device = `spool-restart-${randomUUID()}`;
    const spool = testSpool();
    await spoolWhileDown(spool, device, 200, 4);

    const next = make(vmUrl, spool);
    await waitFor(
      'the spool from the last run to drain',
      () => next.stats.linesWritten === 200 && next.spooledLines === 0,
      30_000,
    );
    expect(next.spooledLines).toBe(0);
    expect((await stored(vmUrl, device, 200)).sort((a, b) => a - b)).toEqual(range(0, 200));
    expect(readdirSync(spool.dir).filter((f) => f.endsWith('.spool'))).toEqual([]);
  });

  it('after a crash mid-write, skips the torn last record and sends everything before it', async () => {
    const vmUrl = inject('vmUrl');
    const device = `spool-torn-${randomUUID()}`;
    const spool = testSpool();
    await spoolWhileDown(spool, device, 150, 3);
    const [seg] = readdirSync(spool.dir).filter((f) => f.endsWith('.spool'));
    const path = join(spool.dir, seg!);
    // The third batch cut off in the middle, as a crash during its write leaves it.
    truncateSync(path, statSync(path).size - 500);

    const next = make(vmUrl, spool);
    await waitFor(
      'the two whole batches to be sent',
      () => next.stats.linesWritten === 100 && next.spooledLines === 0,
      30_000,
    );
    expect(next.spoolStats).toMatchObject({ tornRecords: 1, lines: 0 });
    expect((await stored(vmUrl, device, 100)).sort((a, b) => a - b)).toEqual(range(0, 100));
  });

  it('past its byte bound drops the oldest batches, counts them, and sends the newest', async () => {
    const vmUrl = inject('vmUrl');
    const device = `spool-full-${randomUUID()}`;
    // Room for a few of the twenty batches (each some 2.5 kB of line protocol).
    const spool = testSpool({ maxMB: 8 / 1024, segmentBytes: 3000 });
    const dead = make(`http://127.0.0.1:${await freePort()}`, spool);
    for (let b = 0; b < 20; b++) {
      for (const r of numbered(device, b * 50, 50)) dead.write(r);
      await dead.flush();
    }
    const { droppedLines, lines } = dead.spoolStats;
    expect(droppedLines).toBeGreaterThan(0);
    expect(droppedLines + lines).toBe(1000);
    expect(dead.stats.linesFailed).toBe(droppedLines);
    await dead.stop();

    const next = make(vmUrl, spool);
    await waitFor('the kept lines to be sent', () => next.stats.linesWritten === lines, 30_000);
    const values = (await stored(vmUrl, device, lines)).sort((a, b) => a - b);
    expect(values).toEqual(range(1000 - lines, lines));
  });
});

/** The whole gateway: stopped cleanly while the database is down, the next start sends what it held. */
describe('gateway stopped while the database is down', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('shows the spool in /metrics, keeps it through the stop, and the next start writes it', async () => {
    const device = `spool-gw-${randomUUID()}`;
    const spoolDir = join(mkdtempSync(join(tmpdir(), 'gg-spool-gw-')), 'spool');
    const env = { GRIDGATE_TSDB__SPOOL__DIR: spoolDir };
    const down = await startGateway([{ id: device, model: 'hydrotek-wl300' }], {
      ...env,
      GRIDGATE_TSDB__URL: `http://127.0.0.1:${await freePort()}`,
    });
    gw = down.gw;
    const t0 = Math.floor(Date.now() / 1000) - 600;
    for (let i = 0; i < 5; i++) {
      await mosquittoPub(
        down.gw.ports.mqtt!,
        `devices/${device}/telemetry`,
        JSON.stringify({ ts: t0 + i, wl: 1000 + i }),
      );
    }
    const metric = async (name: string) => {
      const text = await (await fetch(`${down.httpUrl}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    };
    const deadline = Date.now() + 20_000;
    while ((await metric('gridgate_tsdb_spool_lines')) < 5 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await metric('gridgate_tsdb_spool_lines')).toBe(5);
    expect(await metric('gridgate_tsdb_spool_bytes')).toBeGreaterThan(0);
    expect(await metric('gridgate_tsdb_spool_dropped_lines_total')).toBe(0);
    await down.gw.stop();
    gw = undefined;

    const vmUrl = inject('vmUrl');
    gw = (
      await startGateway([{ id: device, model: 'hydrotek-wl300' }], { ...env, GRIDGATE_TSDB__URL: vmUrl })
    ).gw;
    const [s] = await waitForSeries(
      vmUrl,
      `flood_water_level_m{device="${device}"}`,
      (x) => (x[0]?.values.length ?? 0) >= 5,
      40_000,
    );
    expect(s!.values).toEqual([1, 1.001, 1.002, 1.003, 1.004]);
  });
});
