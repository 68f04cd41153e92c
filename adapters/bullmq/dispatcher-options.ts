import type { Logger } from 'pino';
import type { AlertRoute } from '../../processors/alerts/routing.js';
import type { RedisConnectionInput } from './connection.js';

export interface AlertRetention {
  /** Seconds a completed job is kept. */
  completedAgeS: number;
  completedCount: number;
  /** Seconds a failed job is kept (longer: someone has to look at it). */
  failedAgeS: number;
  failedCount: number;
}

export const DEFAULT_RETENTION: AlertRetention = {
  completedAgeS: 24 * 3600,
  completedCount: 10_000,
  failedAgeS: 7 * 24 * 3600,
  failedCount: 50_000,
};

export interface AlertDispatcherOptions {
  connection: RedisConnectionInput;
  logger: Logger;
  /** BullMQ key prefix (default `bull`). */
  prefix?: string;
  /** Default `gridgate-alerts`. */
  defaultQueue?: string;
  routes?: readonly AlertRoute[];
  retention?: Partial<AlertRetention>;
  /** Attempts a consumer gets per job (default 5), with exponential backoff from `backoffMs` (default 2 s). */
  attempts?: number;
  backoffMs?: number;
  /** How long a replayed event id is still recognised after its first add (default 7 days). */
  dedupTtlMs?: number;
  /** Validate each event against the schema before enqueueing (default true). */
  validate?: boolean;
  /** The durable outbox for events that wait for Redis (config `dispatch.outbox`). */
  outbox?: { dir: string; maxBytes: number; segmentBytes?: number };
  /**
   * Max (queue, event) pairs held in memory: without an outbox, while Redis is unreachable (the
   * oldest are dropped and counted when full); with one, before the rest go to the outbox
   * (default 10,000).
   */
  bufferLimit?: number;
  /** Retry delay while Redis is unreachable: doubles from min to max (default 250 ms .. 10 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** An add that takes longer counts as failed and goes to the outbox (default 5 s). */
  addTimeoutMs?: number;
  /** How long stop() keeps delivering what waits before leaving it in the outbox (default 3 s). */
  stopFlushMs?: number;
}

export interface DispatcherStats {
  /** (queue, event) adds that Redis accepted (including ones BullMQ deduplicated). */
  enqueued: number;
  invalid: number;
  /** Shadow-mode events: never dispatched. */
  shadow: number;
  /** Failed add attempts (each retry counts). */
  failures: number;
  /** Waiting for Redis, in memory and in the outbox. */
  buffered: number;
  /** Of those, in the outbox on disk. */
  outboxDepth: number;
  outboxBytes: number;
  /** When the oldest waiting event was emitted (ms since the epoch), if any waits. */
  oldestWaitingAt: number | undefined;
  /** Dropped because the in-memory buffer or the outbox was full. */
  dropped: number;
}
