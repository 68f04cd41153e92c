import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_SPOOL_STATS, type SpoolStats } from '../../adapters/fs/spool.js';
import { InfluxWriter, type InfluxWriterOptions } from '../../adapters/tsdb/influx-writer.js';
import type { InfluxWriterStats, TsdbWriter } from '../../adapters/tsdb/writer-types.js';
import {
  type HealthCheck,
  healthRoutes,
  type SpoolHealth,
  spoolHealthCheck,
} from '../../gateway/http/routes/health.js';
import { metricsRoutes } from '../../gateway/http/routes/metrics.js';
import { gatewayMetrics } from '../../gateway/metrics.js';
import type { Reading } from '../../processors/types.js';
import { freePort, type RunningService, startVictoriaMetrics } from '../../scripts/services.js';
import { testSpool } from '../adapters/spool-support.js';
import { captureLogs, waitFor } from '../adapters/support.js';

interface HealthBody {
  status: string;
  checks: Record<string, SpoolHealth & Record<string, unknown>>;
}

function readings(device: string, n: number): Reading[] {
  const t0 = Date.now() - 60_000;
  return Array.from({ length: n }, (_, k) => ({
    device,
    measurement: 'flood',
    time: t0 + k * 1000,
    fields: { water_level_m: k },
    tags: { device, model: 'acme-fg100', family: 'flood' },
  }));
}

/** /healthz and /metrics as the gateway serves them, over the given checks and writer, on port 0. */
async function serve(
  checks: Record<string, HealthCheck>,
  writer: Pick<TsdbWriter, 'stats' | 'spoolStats'>,
): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify();
  await app.register(healthRoutes(checks));
  await app.register(
    metricsRoutes(
      gatewayMetrics({
        pipeline: { counters: { received: 0, readings: 0 } },
        deadLetters: { counts: () => ({}) },
        writer,
        registry: { size: 0 },
        latest: { size: 0 },
        ingress: {},
        rateLimiter: { flagged: () => [] },
      }),
    ),
  );
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
}

const health = async (base: string) => {
  const res = await fetch(`${base}/healthz`);
  return { code: res.status, body: (await res.json()) as HealthBody };
};

const metric = async (base: string, name: string) => {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
};

describe('/healthz spool', () => {
  const writers: InfluxWriter[] = [];
  const apps: FastifyInstance[] = [];
  let vm: RunningService | undefined;
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    for (const w of writers.splice(0)) await w.stop();
    await vm?.stop();
    vm = undefined;
  });

  const writer = (url: string, extra: Partial<InfluxWriterOptions> = {}) => {
    const w = new InfluxWriter({
      url,
      org: 'gridgate',
      bucket: 'test',
      batchSize: 100,
      flushIntervalMs: 100,
      spoolRetryMs: 200,
      logger: captureLogs().logger,
      spool: testSpool(),
      ...extra,
    });
    writers.push(w);
    return w;
  };

  it('says degraded (200) with the held readings while the database is down, and ok once they are sent', async () => {
    const port = await freePort();
    const w = writer(`http://127.0.0.1:${port}`);
    for (const r of readings(`health-spool-${randomUUID()}`, 12)) w.write(r);
    await w.flush();
    await waitFor('the readings to reach the spool', () => w.spooledLines === 12);

    // Two minutes on, and the last failed write still counts as recent.
    const later = () => Date.now() + 125_000;
    const { app, base } = await serve(
      { spool: spoolHealthCheck(w, undefined, { failingMs: 10 * 60_000, now: later }) },
      w,
    );
    apps.push(app);
    const down = await health(base);
    expect(down.code).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(down.body.checks.spool).toEqual({
      ok: true,
      status: 'degraded',
      detail: 'database unreachable; 12 readings held on disk (oldest 2 min)',
      lines: 12,
      records: 1,
      bytes: w.spoolStats.bytes,
      oldestAgeSeconds: expect.any(Number),
      droppedLines: 0,
    });
    expect(down.body.checks.spool?.bytes).toBeGreaterThan(0);
    expect(down.body.checks.spool?.oldestAgeSeconds).toBeGreaterThanOrEqual(125);
    expect(await metric(base, 'gridgate_tsdb_spool_lines')).toBe(12);
    expect(await metric(base, 'gridgate_tsdb_spool_oldest_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(await metric(base, 'gridgate_tsdb_spool_open')).toBe(1);

    vm = await startVictoriaMetrics(join(mkdtempSync(join(tmpdir(), 'gg-vm-')), 'vm'), port);
    await waitFor('the spool to drain', () => w.spooledLines === 0, 30_000);
    const back = await health(base);
    expect(back.code).toBe(200);
    expect(back.body).toEqual({
      status: 'ok',
      checks: {
        spool: {
          ok: true,
          status: 'ok',
          lines: 0,
          records: 0,
          bytes: expect.any(Number),
          oldestAgeSeconds: 0,
          droppedLines: 0,
        },
      },
    });
  });

  it('fails (503) when the spool could not be opened: its folder is held by another writer', async () => {
    const spool = testSpool();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const first = writer(dead, { spool });
    for (const r of readings(`health-lock-${randomUUID()}`, 3)) first.write(r);
    await first.flush();
    await waitFor('the first writer to hold its spool', () => first.spooledLines === 3);
    const second = writer(dead, { spool });
    await waitFor('the second spool to give up', () => second.spoolStats.openError !== undefined);
    const { app, base } = await serve({ spool: spoolHealthCheck(second) }, second);
    apps.push(app);
    const { code, body } = await health(base);
    expect(code).toBe(503);
    expect(body.status).toBe('degraded');
    expect(body.checks.spool).toMatchObject({ ok: false, status: 'failing', lines: 0 });
    expect(body.checks.spool?.detail).toBe(
      `disk spool unavailable, readings the database does not take are lost: GG_ERR_CONFLICT: tsdb spool ${spool.dir} is in use by process ${process.pid}`,
    );
    expect(await metric(base, 'gridgate_tsdb_spool_open')).toBe(0);
  });

  it('keeps the older checks as they were: only `status` fields are added', async () => {
    const idle = { stats: {} as InfluxWriterStats, spoolStats: EMPTY_SPOOL_STATS };
    const { app, base } = await serve(
      { mqtt: () => ({ ok: true }), tsdb: () => ({ ok: false, detail: 'writes failing: boom' }) },
      idle,
    );
    apps.push(app);
    const { code, body } = await health(base);
    expect(code).toBe(503);
    expect(body).toEqual({
      status: 'degraded',
      checks: { mqtt: { ok: true }, tsdb: { ok: false, detail: 'writes failing: boom' } },
    });
  });
});

describe('spoolHealthCheck wording', () => {
  const NOW = 1_000_000_000_000;
  const check = (spool: Partial<SpoolStats>, lastError?: { at: number; statusCode?: number }) =>
    spoolHealthCheck(
      {
        stats: { lastError: lastError && { message: 'x', ...lastError } } as InfluxWriterStats,
        spoolStats: { ...EMPTY_SPOOL_STATS, ...spool },
      },
      undefined,
      { now: () => NOW },
    )();

  it.each([
    [
      { lines: 12_345, records: 3, oldestAt: NOW - 150_000 },
      { at: NOW - 1000 },
      'database unreachable; 12,345 readings held on disk (oldest 2 min)',
    ],
    [
      { lines: 1, records: 1, oldestAt: NOW - 45_000 },
      { at: NOW - 1000, statusCode: 503 },
      'database failing writes (HTTP 503); 1 reading held on disk (oldest 45 s)',
    ],
    [
      { lines: 800, records: 2, oldestAt: NOW - 3 * 86_400_000, droppedLines: 2_000_000 },
      { at: NOW - 60_000 },
      'database answering again; sending 800 readings held on disk (oldest 3 days)' +
        '; 2,000,000 readings dropped since start (spool full, tsdb.spool.maxMB)',
    ],
    [
      { lines: 7, records: 1, oldestAt: NOW - 5 * 3_600_000 },
      undefined,
      'database answering again; sending 7 readings held on disk (oldest 5 h)',
    ],
  ])('%o', (spool, lastError, detail) => {
    expect(check(spool, lastError)).toMatchObject({ ok: true, status: 'degraded', detail });
  });

  it('is ok with no detail when nothing is held or lost, and names past drops once the spool is empty', () => {
    expect(check({})).toEqual({
      ok: true,
      status: 'ok',
      lines: 0,
      records: 0,
      bytes: 0,
      oldestAgeSeconds: 0,
      droppedLines: 0,
    });
    expect(check({ droppedLines: 40 })).toMatchObject({
      ok: true,
      status: 'ok',
      detail: 'no readings held; 40 readings dropped since start (spool full, tsdb.spool.maxMB)',
    });
  });
});
