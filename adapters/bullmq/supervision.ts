/**
 * Ack and supervision (督办). When an incident fires with an `ackWithin`, a BullMQ **delayed job**
 * on the control queue (default `gridgate-supervision`) holds its deadline, so the deadline survives
 * a gateway restart and fires on exactly one gateway of a cluster. `ack()` records who acknowledged
 * and when in Redis and removes the delayed job. When a deadline job runs and the incident is still
 * open and unacknowledged, an `alert.escalated` event with `reason: 'ack_overdue'` goes to the sink.
 *
 * Decision: the escalation keeps the incident's severity (previousSeverity === severity). The colour
 * states the hazard (the four-colour warning level); an overdue ack is an organisational
 * failure, escalated to whoever supervises the responder, not a worse flood. Downstream tells the
 * two apart by `reason`.
 *
 * One deadline per incident at a time: the job id derives from the incident id, so re-scheduling an
 * incident that already has a deadline keeps the first (earliest) one. Deadline jobs are removed when
 * they finish, freeing the id for the incident's next lifecycle.
 */
import { type Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';
import { GridgateError } from '../../processors/errors.js';
import {
  closeConnection,
  firstReady,
  type OwnedConnection,
  openConnection,
  type RedisConnectionInput,
} from './connection.js';

export const DEFAULT_SUPERVISION_QUEUE = 'gridgate-supervision';
/** Ack records outlive any incident they acknowledge. */
const ACK_TTL_S = 30 * 24 * 3600;

/** KEYS[1] ack hash; ARGV[1] lifecycle startedAt, ARGV[2] ttl s, ARGV[3..] field/value pairs. Returns the standing ack, or nil when this one was written. */
const ACK_SCRIPT = `
local started = redis.call('HGET', KEYS[1], 'incidentStartedAt')
if started == ARGV[1] then return redis.call('HGETALL', KEYS[1]) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return nil
`;

export interface AckRecord {
  incidentId: string;
  by: string;
  /** ISO 8601. */
  at: string;
  note?: string;
  /** startedAt of the incident lifecycle that was acknowledged (an incident id can fire again later). */
  incidentStartedAt: string;
}

interface DeadlineData {
  incidentId: string;
  firingEventId: string;
  startedAt: string;
  ackWithinMs: number;
}

export interface SupervisionOptions {
  connection: RedisConnectionInput;
  logger: Logger;
  /** Where ack_overdue escalations go (the dispatcher, or a FanoutSink). */
  sink: AlertSink;
  /** The latest event of an incident (its current state), or undefined when unknown. */
  getIncident: (incidentId: string) => Promise<AlertEvent | undefined>;
  /** BullMQ key prefix (default `bull`). */
  prefix?: string;
  queue?: string;
  /** Redis key prefix of ack records (default `gridgate:ack:`). */
  ackKeyPrefix?: string;
  /** Run the deadline worker in this process (default true). */
  worker?: boolean;
  /** Start processing deadlines at once (default true); false waits for start(), e.g. until incidents are loaded. */
  autorun?: boolean;
}

export class Supervision {
  private readonly log: Logger;
  private readonly conn: OwnedConnection;
  private readonly workerConn: OwnedConnection | undefined;
  private readonly queue: Queue<DeadlineData>;
  private worker: Worker<DeadlineData> | undefined;
  /** Settled once the producer connection was first ready (or gave up waiting): see firstReady. */
  private readonly ready: Promise<unknown>;
  private readonly ackKeyPrefix: string;

  constructor(private readonly opts: SupervisionOptions) {
    this.log = opts.logger.child({ component: 'supervision' });
    this.conn = openConnection(opts.connection, 'producer', this.log);
    this.ready = firstReady(this.conn.client);
    const prefix = opts.prefix ?? 'bull';
    // No 'error' listener: a Queue only passes on its connection's errors, logged where it is opened.
    this.queue = new Queue<DeadlineData>(opts.queue ?? DEFAULT_SUPERVISION_QUEUE, {
      connection: this.conn.client,
      prefix,
    });
    this.ackKeyPrefix = opts.ackKeyPrefix ?? 'gridgate:ack:';
    if (opts.worker ?? true) {
      this.workerConn = openConnection(opts.connection, 'worker', this.log);
      this.worker = new Worker<DeadlineData>(this.queue.name, (job) => this.onDeadline(job), {
        connection: this.workerConn.client,
        autorun: opts.autorun ?? true,
        prefix,
      });
      this.worker.on('error', (err: Error) =>
        this.log.warn({ err: err.message }, 'supervision worker error'),
      );
      this.worker.on('failed', (job, err) =>
        this.log.error({ err: err.message, incidentId: job?.data.incidentId }, 'ack deadline job failed'),
      );
    }
  }

  /** Begin processing deadlines (with `autorun: false`): call once what getIncident reads is loaded. */
  start(): void {
    if (this.worker && !this.worker.isRunning()) {
      this.worker
        .run()
        .catch((err: Error) => this.log.error({ err: err.message }, 'supervision worker stopped'));
    }
  }

  /** Start the deadline `ackWithinMs` from now for the incident `event` belongs to (keeps an earlier one). */
  async scheduleAckDeadline(event: AlertEvent, ackWithinMs: number): Promise<void> {
    const data: DeadlineData = {
      incidentId: event.incidentId,
      firingEventId: event.id,
      startedAt: event.startedAt,
      ackWithinMs,
    };
    await this.queue.add('ack-deadline', data, {
      jobId: deadlineJobId(event.incidentId),
      delay: Math.max(0, ackWithinMs),
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
    });
  }

  /** Remove the incident's pending deadline (resolved, or acknowledged). */
  async cancel(incidentId: string): Promise<void> {
    // 0 when the job is absent or running right now; the running job re-checks ack and state.
    await this.queue.remove(deadlineJobId(incidentId));
  }

  /**
   * Acknowledge the incident's current lifecycle. Throws GG_ERR_NOT_FOUND for an unknown incident
   * (the HTTP API answers 404).
   */
  async ack(incidentId: string, by: string, note?: string): Promise<AckRecord> {
    const incident = await this.opts.getIncident(incidentId);
    if (!incident) {
      throw new GridgateError('GG_ERR_NOT_FOUND', `incident ${incidentId} is not known`, [
        'list incidents with GET /api/v1/incidents',
      ]);
    }
    const rec: AckRecord = {
      incidentId,
      by,
      at: new Date().toISOString(),
      incidentStartedAt: incident.startedAt,
      ...(note !== undefined ? { note } : {}),
    };
    const key = this.ackKeyPrefix + incidentId;
    const fields = Object.entries(rec).flat();
    // Atomically: the first ack of this lifecycle stands (concurrent acks, or gateways sharing
    // Redis, all get that one back); an ack of an earlier lifecycle is replaced.
    await this.ready;
    const standing = (await this.conn.client.eval(
      ACK_SCRIPT,
      1,
      key,
      rec.incidentStartedAt,
      ACK_TTL_S,
      ...fields,
    )) as string[] | null;
    if (standing && standing.length > 0) {
      const h: Record<string, string> = {};
      for (let i = 0; i + 1 < standing.length; i += 2) h[standing[i] as string] = standing[i + 1] as string;
      return ackRecord(incidentId, h) ?? rec;
    }
    await this.cancel(incidentId);
    this.log.info({ incidentId, by }, 'incident acknowledged');
    return rec;
  }

  async getAck(incidentId: string): Promise<AckRecord | undefined> {
    await this.ready;
    return ackRecord(incidentId, await this.conn.client.hgetall(this.ackKeyPrefix + incidentId));
  }

  /** True when the incident's current lifecycle (by startedAt) has been acknowledged. */
  async isAcked(incidentId: string): Promise<boolean> {
    const [ack, incident] = await Promise.all([this.getAck(incidentId), this.opts.getIncident(incidentId)]);
    return ack !== undefined && (incident === undefined || ack.incidentStartedAt === incident.startedAt);
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    if (this.workerConn) await closeConnection(this.workerConn);
    await closeConnection(this.conn);
  }

  private async onDeadline(job: Job<DeadlineData>): Promise<string> {
    const { incidentId, startedAt, firingEventId, ackWithinMs } = job.data;
    const incident = await this.opts.getIncident(incidentId);
    if (!incident || incident.type === 'alert.resolved' || incident.startedAt !== startedAt) return 'closed';
    const ack = await this.getAck(incidentId);
    if (ack && ack.incidentStartedAt === startedAt) return 'acked';
    const escalation = ackOverdueEvent(incident, firingEventId, ackWithinMs, Date.now());
    this.log.warn({ incidentId, eventId: escalation.id }, 'incident not acknowledged in time, escalating');
    await this.opts.sink.emit(escalation);
    return 'escalated';
  }
}

/** The ack stored as the hash `h`, or undefined when it holds none. */
function ackRecord(incidentId: string, h: Record<string, string>): AckRecord | undefined {
  if (!h.by || !h.at || !h.incidentStartedAt) return undefined;
  const { by, at, incidentStartedAt, note } = h;
  return { incidentId, by, at, incidentStartedAt, ...(note !== undefined ? { note } : {}) };
}

/** BullMQ job ids may not contain `:`; encodeURIComponent keeps them readable and unique. */
export function deadlineJobId(incidentId: string): string {
  return `ack-${encodeURIComponent(incidentId)}`;
}

/** The `alert.escalated` (ack_overdue) event for `incident`, its latest event. */
export function ackOverdueEvent(
  incident: AlertEvent,
  firingEventId: string,
  ackWithinMs: number,
  now: number,
): AlertEvent {
  const { resolvedAt: _resolved, previousSeverity: _prev, reason: _reason, ...rest } = incident;
  const minutes = Math.max(1, Math.round(ackWithinMs / 60_000));
  return {
    ...rest,
    // Deterministic per incident lifecycle: a retried deadline job cannot escalate twice.
    id: `${firingEventId}.ack-overdue`,
    type: 'alert.escalated',
    previousSeverity: incident.severity,
    reason: 'ack_overdue',
    at: new Date(now).toISOString(),
    summary: {
      zh: `督办：${minutes} 分钟内未确认。${incident.summary.zh}`,
      en: `Supervision: not acknowledged within ${minutes} min. ${incident.summary.en}`,
    },
  };
}
