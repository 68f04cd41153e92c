import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ThreadedInfluxWriter } from '../../adapters/tsdb/threaded-writer.js';
import type { Reading } from '../../processors/types.js';
import { waitForSeries } from '../support/vm.js';
import { testSpool } from './spool-support.js';
import { captureLogs, waitFor } from './support.js';

function reading(device: string, time: number, level: number): Reading {
  return {
    device,
    measurement: 'flood',
    time,
    fields: { water_level_m: level },
    tags: { device, model: 'acme-fg100', family: 'flood' },
  };
}

/** The thread, reached the way only a test may: to end it as a crash would. */
const threadOf = (w: ThreadedInfluxWriter) =>
  (w as unknown as { channel: { worker: Worker } }).channel.worker;

describe('ThreadedInfluxWriter', () => {
  let writer: ThreadedInfluxWriter | undefined;
  afterEach(async () => {
    await writer?.stop();
    writer = undefined;
  });

  const make = (logs = captureLogs(), url = inject('vmUrl')) =>
    new ThreadedInfluxWriter({
      url,
      org: 'gridgate',
      bucket: 'test',
      batchSize: 100,
      flushIntervalMs: 100,
      logger: logs.logger,
      spool: testSpool(),
    });

  it('hands a burst larger than one hand-over to the thread, in order, and counts every line', async () => {
    writer = make();
    const device = `fg-${randomUUID()}`;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 20 * 60_000;
    // In rounds, so that hand-over buffers come back from the thread and are written into again.
    for (let i = 0; i < 4500; i++) {
      writer.write(reading(device, t0 + i * 100, i));
      if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await writer.flush();
    expect(writer.stats.linesWritten).toBe(4500);
    const [series] = await waitForSeries(
      inject('vmUrl'),
      `flood_water_level_m{device="${device}"}`,
      (s) => s[0]?.values.length === 4500,
    );
    expect(series?.values).toEqual(Array.from({ length: 4500 }, (_, i) => i));
  });

  it('ends its thread on stop, and counts what it is given afterwards as failed', async () => {
    writer = make();
    const thread = threadOf(writer);
    const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
    await writer.stop();
    expect(await exited).toBe(0);
    writer.write(reading('x', Date.now(), 1));
    expect(writer.stats.linesFailed).toBe(1);
    await expect(writer.flush()).resolves.toBeUndefined();
  });

  it('restarts a thread that dies, logs it, counts what it held as failed, and goes on writing', async () => {
    const logs = captureLogs();
    writer = make(logs);
    const device = `fg-${randomUUID()}`;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 15 * 60_000;
    writer.write(reading(device, t0, 1));
    await writer.flush();
    expect(writer.stats.linesWritten).toBe(1);

    const first = threadOf(writer);
    await first.terminate();
    await waitFor('a new thread', () => threadOf(writer!) !== undefined && threadOf(writer!) !== first);
    expect(writer.stats.lastError?.message).toMatch(/writer thread exited/); // /healthz reports it
    expect(logs.entries.find((e) => e.msg === 'tsdb writer thread exited; restarting it')).toMatchObject({
      level: 50,
      lost: 0,
    });
    writer.write(reading(device, t0 + 60_000, 2));
    await writer.flush();
    expect(writer.stats.linesWritten).toBe(2); // the dead thread's count is kept
    const [series] = await waitForSeries(
      inject('vmUrl'),
      `flood_water_level_m{device="${device}"}`,
      (s) => s[0]?.values.length === 2,
    );
    expect(series?.values).toEqual([1, 2]);
  });

  it('rejects ready, once, when the thread cannot start; no restart loop', async () => {
    const logs = captureLogs();
    writer = make(logs, 'ftp://127.0.0.1:1'); // the influx client refuses it (the config schema would too)
    await expect(writer.ready).rejects.toThrow(/tsdb writer could not start: .*protocol/i);
    await new Promise((r) => setTimeout(r, 500));
    expect(logs.entries.filter((e) => e.msg === 'tsdb writer thread failed')).toHaveLength(1);
    expect(writer.stats.lastError?.message).toMatch(/could not start/);
    writer.write(reading('x', Date.now(), 1));
    await writer.flush();
    expect(writer.stats.linesFailed).toBe(1);
  });

  it('lets a flush during stop wait for the stop', async () => {
    writer = make();
    const device = `fg-${randomUUID()}`;
    writer.write(reading(device, Date.now() - 60_000, 1));
    const stopped = writer.stop();
    await writer.flush();
    expect(writer.stats.linesWritten).toBe(1);
    await stopped;
  });
});
