/**
 * `gridgate/consumer`: a typed BullMQ consumer for gridgate alert events.
 *
 *   import { createAlertConsumer } from 'gridgate/consumer';
 *   const c = createAlertConsumer({ connection: 'redis://127.0.0.1:6379', queue: 'gridgate-alerts',
 *     handler: async (event) => { ... } });
 *   ...
 *   await c.close();
 *
 * Each job is validated against gridgate.alert/v1 before the handler sees it. An invalid job fails
 * at once with an UnrecoverableError naming every schema error (no retries: retrying cannot fix the
 * data) and stays in the failed set for inspection. A handler that throws fails the job normally,
 * and BullMQ retries it with the attempts/backoff the gateway set.
 */
import { type Job, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import { closeConnection, openConnection, type RedisConnectionInput } from '../adapters/bullmq/connection.js';
import type { AlertEvent } from '../processors/alerts/event.js';
import { validateAlertEvent } from '../processors/alerts/validate.js';

export type { AlertEvent, AlertEventType, Severity } from '../processors/alerts/event.js';
export { ALERT_EVENT_TYPES, ALERT_SCHEMA_ID, SEVERITIES } from '../processors/alerts/event.js';
export { alertSchema, validateAlertEvent } from '../processors/alerts/validate.js';

export interface AlertConsumerOptions {
  /** A Redis URL, ioredis options, or a client (duplicated: a worker needs its own blocking connection). */
  connection: RedisConnectionInput;
  /** Queue name; the gateway's default is `gridgate-alerts`. */
  queue: string;
  /** Jobs handled in parallel (default 1, which keeps per-queue order). */
  concurrency?: number;
  /** BullMQ key prefix, if the gateway was configured with one (default `bull`). */
  prefix?: string;
  handler: (event: AlertEvent, job: Job<AlertEvent>) => Promise<void>;
  /** Connection and worker errors (Redis down...) are logged here; without one they are ignored, as the worker reconnects on its own. */
  logger?: Logger;
  /** Extra BullMQ worker options (autorun, lockDuration, limiter...). */
  worker?: Omit<WorkerOptions, 'connection' | 'concurrency' | 'prefix'>;
}

export interface AlertConsumer {
  readonly worker: Worker<AlertEvent>;
  /** Wait for the worker to connect (optional: jobs are taken as soon as it is ready anyway). */
  ready(): Promise<void>;
  /** Finish the jobs in hand, then disconnect. */
  close(): Promise<void>;
}

export function createAlertConsumer(opts: AlertConsumerOptions): AlertConsumer {
  const conn = openConnection(opts.connection, 'worker', opts.logger);
  const worker = new Worker<AlertEvent>(
    opts.queue,
    async (job) => {
      const v = validateAlertEvent(job.data);
      if (!v.ok) {
        throw new UnrecoverableError(
          `job ${job.id} (${job.name}) on ${opts.queue} is not a valid gridgate.alert/v1 event: ${v.errors.join('; ')}`,
        );
      }
      await opts.handler(v.event, job);
    },
    {
      ...opts.worker,
      connection: conn.client,
      concurrency: opts.concurrency ?? 1,
      prefix: opts.prefix ?? 'bull',
    },
  );
  // Without a listener the worker's errors go to stderr.
  worker.on('error', (err) =>
    opts.logger?.warn({ err: err.message, queue: opts.queue }, 'alert consumer error'),
  );
  return {
    worker,
    ready: () => worker.waitUntilReady().then(() => undefined),
    async close() {
      await worker.close();
      await closeConnection(conn);
    },
  };
}
