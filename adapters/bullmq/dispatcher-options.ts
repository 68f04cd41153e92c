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
  /**
   * The durable outbox for events that wait for Redis (config `dispatch.outbox`): a disk spool of
   * JSON lines, synced before an event counts as held.
   */
  outbox: { dir: string; maxMB: number };
  /**
   * Max (queue, event) pairs held in memory before the rest go to the outbox, and while it cannot
   * be written (the oldest are dropped and counted when full).
   */
  bufferLimit?: number;
  /** Retry delay while Redis is unreachable: doubles from min to max. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** An add that takes longer counts as failed and goes to the outbox. */
  addTimeoutMs?: number;
  /** How long stop() keeps delivering what waits before leaving it in the outbox. */
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
