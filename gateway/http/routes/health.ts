import type { FastifyPluginAsync } from 'fastify';
import type { TsdbWriter } from '../../../adapters/tsdb/writer-types.js';

/** One check's answer. */
export interface HealthResult {
  /** false fails /healthz (503). */
  ok: boolean;
  /**
   * `degraded`: working, with reduced service (readings held on disk for the database): /healthz
   * says so but stays 200 unless a check fails. Absent means `ok` when ok, failing otherwise.
   */
  status?: 'ok' | 'degraded' | 'failing';
  detail?: string;
}

export type HealthCheck = () => HealthResult;

/** What alertDeliveryCheck reads (AlertDispatcher.stats()). */
export interface AlertDeliveryStats {
  buffered: number;
  outboxDepth: number;
  outboxBytes: number;
  oldestWaitingAt: number | undefined;
  dropped: number;
  enqueued: number;
  failures: number;
}

/**
 * Alert delivery: failing once events have waited for Redis longer than 30 s (a short wait is a
 * reconnect, not an outage); the detail names the outbox depth and the oldest event's age.
 */
export function alertDeliveryCheck(stats: () => AlertDeliveryStats | undefined): HealthCheck {
  return () => {
    const s = stats();
    if (!s || (s.buffered === 0 && s.dropped === 0)) return { ok: true };
    const dropped = s.dropped > 0 ? `; ${s.dropped} dropped since start (outbox full)` : '';
    if (s.buffered === 0) return { ok: true, detail: `no alert events waiting${dropped}` };
    const now = Date.now();
    const ageS = Math.max(0, Math.round((now - (s.oldestWaitingAt ?? now)) / 1000));
    return {
      ok: ageS < 30,
      detail: `${s.buffered} alert events waiting for Redis (${s.outboxDepth} in the outbox, ${s.outboxBytes} bytes), oldest ${ageS} s${dropped}`,
    };
  };
}

/**
 * GET /healthz: 200 while every check passes, 503 with the failing ones otherwise. `status` is `ok`
 * only when every check is ok and none is degraded; `degraded` otherwise.
 */
export function healthRoutes(checks: Record<string, HealthCheck>): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async (_req, reply) => {
      const results = Object.fromEntries(Object.entries(checks).map(([name, check]) => [name, run(check)]));
      const ok = Object.values(results).every((r) => r.ok);
      const degraded = Object.values(results).some((r) => r.status === 'degraded');
      return reply
        .status(ok ? 200 : 503)
        .send({ status: ok && !degraded ? 'ok' : 'degraded', checks: results });
    });
  };
}

/** A check that throws fails with its message instead of failing the whole answer. */
function run(check: HealthCheck): HealthResult {
  try {
    return check();
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

/** The spool check's answer: its state and the disk spool's numbers (as /metrics has them). */
export interface SpoolHealth extends HealthResult {
  status: 'ok' | 'degraded' | 'failing';
  /** Readings (one line-protocol line each) held on disk, waiting for the database. */
  lines: number;
  /** Batches held. */
  records: number;
  /** Bytes the spool's files take. */
  bytes: number;
  /** Whole seconds since the oldest held batch was spooled; 0 when none is held. */
  oldestAgeSeconds: number;
  /** Readings dropped since start, oldest first, because the spool was full (tsdb.spool.maxMB). */
  droppedLines: number;
  /** MQTT messages acknowledged (in the intake log) whose readings are not yet in the database or the spool. */
  intakeUnsettled?: number;
}

/**
 * The time-series disk spool: `degraded` (still 200) while it holds readings, since they are safe
 * on disk and sent once the database answers; failing only when the spool could not be opened,
 * because then readings the database does not take are lost. The detail says why readings wait
 * (the writer's last error within `failingMs`, as the `tsdb` check reads it) in words an installer
 * can act on.
 */
export function spoolHealthCheck(
  writer: Pick<TsdbWriter, 'stats' | 'spoolStats'>,
  /** The MQTT edge: messages acknowledged from its intake log whose readings are not yet durable. */
  intake?: { readonly intakeUnsettled?: number },
  { failingMs = 30_000, now = Date.now }: { failingMs?: number; now?: () => number } = {},
): () => SpoolHealth {
  return () => {
    const s = writer.spoolStats;
    const t = now();
    const ageS = s.oldestAt === undefined ? 0 : Math.max(0, Math.floor((t - s.oldestAt) / 1000));
    const answer = (status: SpoolHealth['status'], detail: string) => ({
      ok: status !== 'failing',
      status,
      ...(detail ? { detail } : {}),
      lines: s.lines,
      records: s.records,
      bytes: s.bytes,
      oldestAgeSeconds: ageS,
      droppedLines: s.droppedLines,
      ...(intake?.intakeUnsettled === undefined ? {} : { intakeUnsettled: intake.intakeUnsettled }),
    });
    const dropped =
      s.droppedLines > 0
        ? `; ${readings(s.droppedLines)} dropped since start (spool full, tsdb.spool.maxMB)`
        : '';
    if (s.openError !== undefined) {
      const lost = 'disk spool unavailable, readings the database does not take are lost';
      return answer('failing', `${lost}: ${s.openError}${dropped}`);
    }
    if (s.lines === 0) return answer('ok', dropped && `no readings held${dropped}`);
    const e = writer.stats.lastError;
    const held = `${readings(s.lines)} held on disk (oldest ${age(ageS)})`;
    let detail: string;
    if (e === undefined || t - e.at >= failingMs) detail = `database answering again; sending ${held}`;
    else if (e.statusCode === undefined) detail = `database unreachable; ${held}`;
    else detail = `database failing writes (HTTP ${e.statusCode}); ${held}`;
    return answer('degraded', `${detail}${dropped}`);
  };
}

function readings(n: number): string {
  return `${n.toLocaleString('en-US')} reading${n === 1 ? '' : 's'}`;
}

/** An age a person reads at a glance: 45 s, 12 min, 5 h, 3 days. */
function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 2 * 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} days`;
}
