import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  InfluxWriter,
  type InfluxWriterOptions,
  type TsdbWriter,
} from '../../adapters/tsdb/influx-writer.js';
import { ThreadedInfluxWriter } from '../../adapters/tsdb/threaded-writer.js';
import type { Reading } from '../../processors/types.js';
import { freePort, type RunningService, startVictoriaMetrics } from '../../scripts/services.js';
import { waitForSeries } from '../support/vm.js';
import { testSpool } from './spool-support.js';
import { captureLogs, waitFor } from './support.js';

const location = { district: '鼓楼区', street: '中山 路', community: '湖滨,社区', grid: 'G=07' };

function readings(device: string, t0: number): Reading[] {
  const tags = { device, model: 'acme-fg100', family: 'flood', ...location };
  return [
    { device, measurement: 'flood', time: t0, fields: { water_level_m: 1.25, rain_mm: 0.5 }, tags },
    { device, measurement: 'flood', time: t0 + 60_000, fields: { water_level_m: 1.5, rain_mm: 2 }, tags },
    {
      device,
      measurement: 'access',
      time: t0 + 1_000,
      fields: { count: 1 },
      tags: { ...tags, family: 'access', event: 'door_forced', door: '东门', method: 'card' },
    },
  ];
}

// One suite, both writers: on the gateway's thread, and on a worker thread (the gateway's default).
const WRITERS = [
  { name: 'InfluxWriter', create: (o: InfluxWriterOptions) => new InfluxWriter(o) },
  { name: 'ThreadedInfluxWriter', create: (o: InfluxWriterOptions) => new ThreadedInfluxWriter(o) },
];

const options = (url: string, extra: Partial<InfluxWriterOptions>): InfluxWriterOptions => ({
  url,
  org: 'gridgate',
  bucket: 'test',
  batchSize: 100,
  flushIntervalMs: 200,
  logger: captureLogs().logger,
  spool: testSpool(),
  ...extra,
});

describe.each(WRITERS)('$name', ({ create }) => {
  let writer: TsdbWriter | undefined;
  let extraVm: RunningService | undefined;
  let vmDir: string | undefined;

  const make = (url: string, extra: Partial<InfluxWriterOptions> = {}) => create(options(url, extra));

  afterEach(async () => {
    await writer?.stop();
    writer = undefined;
    await extraVm?.stop();
    extraVm = undefined;
    if (vmDir) await rm(vmDir, { recursive: true, force: true });
    vmDir = undefined;
  });

  it('writes readings that VictoriaMetrics gives back with exact names, values, tags and times', async () => {
    const vmUrl = inject('vmUrl');
    const device = `fg-${randomUUID()}`;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
    writer = make(vmUrl);
    for (const r of readings(device, t0)) writer.write(r);
    await writer.flush();
    expect(writer.stats.linesWritten).toBe(3);

    const labels = { device, model: 'acme-fg100', ...location };
    const [level] = await waitForSeries(vmUrl, `flood_water_level_m{device="${device}"}`);
    expect(level).toEqual({
      metric: { __name__: 'flood_water_level_m', family: 'flood', ...labels },
      values: [1.25, 1.5],
      timestamps: [t0, t0 + 60_000],
    });
    const [rain] = await waitForSeries(vmUrl, `flood_rain_mm{device="${device}"}`);
    expect(rain?.values).toEqual([0.5, 2]);
    const [access] = await waitForSeries(vmUrl, `access_count{device="${device}"}`);
    expect(access).toEqual({
      metric: {
        __name__: 'access_count',
        family: 'access',
        event: 'door_forced',
        door: '东门',
        method: 'card',
        ...labels,
      },
      values: [1],
      timestamps: [t0 + 1_000],
    });
  });

  it('writes without gzip too', async () => {
    const vmUrl = inject('vmUrl');
    const device = `fg-${randomUUID()}`;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000;
    writer = make(vmUrl, { gzip: false });
    for (const r of readings(device, t0)) writer.write(r);
    await writer.flush();
    const [level] = await waitForSeries(vmUrl, `flood_water_level_m{device="${device}"}`);
    expect(level?.values).toEqual([1.25, 1.5]);
  });

  it('counts and logs a dead database without throwing, spools, and writes the lines once it is back', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const logs = captureLogs();
    writer = make(url, {
      logger: logs.logger,
      spoolRetryMs: 200,
    });
    const device = `fg-${randomUUID()}`;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 3 * 60_000;
    for (const r of readings(device, t0)) expect(() => writer!.write(r)).not.toThrow();
    // Sent at once, failed, spooled at once: durable on disk, re-sent from there.
    await waitFor('the batch to reach the spool', () => writer!.stats.linesSpooled >= 3);

    const s = writer.stats;
    expect(s.batchesFailed).toBeGreaterThanOrEqual(1);
    expect(s.linesWritten).toBe(0);
    expect(s.lastError?.message).toMatch(/ECONNREFUSED/);
    const failure = logs.entries.find((e) => e.msg === 'time-series write failed');
    expect(failure).toMatchObject({ level: 40, cause: expect.stringMatching(/ECONNREFUSED/) });
    expect(String((failure?.err as { message?: string })?.message)).toContain(url);

    vmDir = await mkdtemp(join(tmpdir(), 'gg-vm-'));
    extraVm = await startVictoriaMetrics(vmDir, port);
    await waitFor(
      'the spool to drain',
      () => writer!.spooledLines === 0 && writer!.stats.linesWritten >= 3,
      20_000,
    );
    const [level] = await waitForSeries(extraVm.url, `flood_water_level_m{device="${device}"}`);
    expect(level?.values).toEqual([1.25, 1.5]);
    expect(level?.timestamps).toEqual([t0, t0 + 60_000]);
    const [access] = await waitForSeries(extraVm.url, `access_count{device="${device}"}`);
    expect(access?.values).toEqual([1]);
  });

  it('drops (and counts) what a stopped writer is given', async () => {
    writer = make(inject('vmUrl'));
    await writer.stop();
    writer.write(readings('x', Date.now())[0]!);
    expect(writer.stats.linesFailed).toBe(1);
  });
});

/** A real HTTP server standing in for the database: answers each write with the next status. */
async function scriptedServer(statuses: number[], headers: Record<string, string> = {}, gated = false) {
  const bodies: string[] = [];
  /** Gated: the first request gets no answer until open() is called. */
  let opened: () => void = () => undefined;
  const gate = gated ? new Promise<void>((resolve) => (opened = resolve)) : Promise.resolve();
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', async () => {
      bodies.push(Buffer.concat(parts).toString());
      if (bodies.length === 1) await gate;
      const status = statuses.shift() ?? 204;
      res.writeHead(status, status === 204 ? {} : { 'content-type': 'application/json', ...headers });
      res.end(
        status === 204 ? undefined : JSON.stringify({ code: 'invalid', message: `scripted ${status}` }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    open: () => opened(),
    close: () => new Promise((r) => server.close(r)),
  };
}

describe.each(WRITERS)('$name against a scripted server', ({ create }) => {
  let writer: TsdbWriter | undefined;
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await writer?.stop();
    writer = undefined;
    await close?.();
  });
  const make = (url: string, extra: Partial<InfluxWriterOptions> = {}) =>
    create(
      options(url, {
        flushIntervalMs: 100,
        gzip: false,
        ...extra,
      }),
    );

  it('drops (and counts) a batch the database refuses as invalid, without retrying or spooling it', async () => {
    const server = await scriptedServer([400]);
    close = server.close;
    const logs = captureLogs();
    writer = make(server.url, { logger: logs.logger });
    for (const r of readings('bad-1', Date.now())) writer.write(r);
    await writer.flush();
    expect(writer.stats).toMatchObject({
      linesWritten: 0,
      linesFailed: 3,
      linesSpooled: 0,
      batchesFailed: 1,
    });
    expect(writer.stats.lastError).toMatchObject({
      statusCode: 400,
      body: expect.stringContaining('scripted 400'),
    });
    expect(logs.entries.find((e) => e.msg === 'time-series write failed')).toMatchObject({ next: 'drop' });
    expect(server.bodies).toHaveLength(1);
  });

  it('spools a 503 at once and sends the same lines again from the spool, not before the Retry-After it names (seconds)', async () => {
    const server = await scriptedServer([503], { 'retry-after': '1' });
    close = server.close;
    writer = make(server.url, { spoolRetryMs: 100 });
    const t0 = Date.now();
    for (const r of readings('retry-1', t0)) writer.write(r);
    await waitFor('the first attempt to fail', () => writer!.stats.batchesFailed === 1);
    const failedAt = Date.now();
    await waitFor('the lines to be in the spool', () => writer!.spooledLines === 3);
    await waitFor('the re-send to succeed', () => writer!.stats.linesWritten === 3);
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual(900);
    expect(writer.stats).toMatchObject({ batchesFailed: 1, linesFailed: 0, linesSpooled: 3 });
    expect(server.bodies).toHaveLength(2);
    expect(server.bodies[1]).toBe(server.bodies[0]);
    expect(server.bodies[0]?.trimEnd().split('\n')).toHaveLength(3);
    expect(server.bodies[0]).toContain(`water_level_m=1.25,rain_mm=0.5 ${t0}\n`);
  });

  it('has a failed batch in the spool when flush returns', async () => {
    const server = await scriptedServer([503]);
    close = server.close;
    writer = make(server.url);
    for (const r of readings('flush-1', Date.now())) writer.write(r);
    await writer.flush();
    expect(writer.stats).toMatchObject({ linesWritten: 0, linesSpooled: 3, linesFailed: 0 });
    expect(writer.spooledLines).toBe(3);
  });

  it('settled() waits for an unanswered request, even after a later batch is written', async () => {
    const gate = await scriptedServer([], {}, true);
    close = gate.close;
    writer = make(gate.url, { batchSize: 3 });
    const t0 = Date.now();
    for (const r of readings('settle-1', t0)) writer.write(r);
    let first = false;
    void writer.settled().then(() => (first = true));
    await waitFor('the request to reach the database', () => gate.bodies.length === 1);
    // A full batch goes while the first is in flight, and is answered first.
    for (const r of readings('settle-2', t0)) writer.write(r);
    let both = false;
    const settled = writer.settled().then(() => (both = true));
    await waitFor('the second batch to be written', () => writer!.stats.linesWritten === 3);
    expect(first).toBe(false); // the database has not answered the first yet
    expect(both).toBe(false);
    gate.open();
    await settled;
    expect(first).toBe(true);
    expect(writer.stats).toMatchObject({ linesWritten: 6, linesFailed: 0, linesSpooled: 0 });
  });

  it('settled() resolves once failing lines are held by the spool, or refused', async () => {
    const server = await scriptedServer([503, 400]);
    close = server.close;
    writer = make(server.url);
    for (const r of readings('settle-3', Date.now())) writer.write(r);
    await writer.settled();
    expect(writer.stats).toMatchObject({ linesWritten: 0, linesSpooled: 3, linesFailed: 0 });
    expect(writer.spooledLines).toBe(3);
    for (const r of readings('settle-4', Date.now())) writer.write(r);
    await writer.settled();
    expect(writer.stats).toMatchObject({ linesFailed: 3 });
  });

  it('keeps every batch within batchSize lines, and loses none', async () => {
    const server = await scriptedServer([]);
    close = server.close;
    writer = make(server.url, { batchSize: 40 });
    const t0 = Date.now();
    for (let i = 0; i < 250; i++) writer.write(readings(`dev-${i}`, t0 + i)[0]!);
    await writer.flush();
    expect(writer.stats.linesWritten).toBe(250);
    const sizes = server.bodies.map((b) => b.trimEnd().split('\n').length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(40);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
  });
});
