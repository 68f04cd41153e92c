import type { IClientOptions } from 'mqtt';
import type { IntakeLogConfig } from './intake-log.js';

/**
 * ThreadedMqttConnection <-> mqtt-io-thread.ts over the thread channel (adapters/threads/). The
 * client options travel without functions (the thread sets its own). The thread sends `msgs`
 * batches (message-batch.ts, one transferred buffer) and `connect` / `close` / `error` events in
 * the same ordered stream; the gateway's side sends `reconnect`, and `settled` (a sequence number of
 * the intake log below which everything is durable downstream).
 */
export interface IoThreadData {
  url: string;
  options: Omit<IClientOptions, 'log'>;
  /** Size of the batch waiting to be handed over above which the thread stops reading from the broker. */
  highWaterBytes: number;
  /** Where QoS 1 messages are logged before they are acknowledged; none: acknowledged as taken in. */
  intake?: IntakeLogConfig;
}

export type IoCalls = {
  subscribe: [Record<string, { qos: 0 | 1 | 2; nl?: boolean }>, undefined];
  unsubscribe: [string[], undefined];
  publish: [{ topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean }, undefined];
  /** Ends the connection (force: without waiting for in-flight publishes); the thread then ends. */
  stop: [boolean | undefined, undefined];
};

export type IoAsks = Record<never, [unknown, unknown]>;
