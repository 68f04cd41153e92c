import type { IClientOptions } from 'mqtt';

/**
 * Messages between ThreadedMqttConnection (the gateway's thread) and mqtt-io-thread.ts. All
 * structured-cloneable: the client options travel without functions (the thread sets its own).
 */
export interface IoThreadData {
  url: string;
  options: Omit<IClientOptions, 'log'>;
  /** Size of the batch waiting to be handed over above which the thread stops reading from the broker. */
  highWaterBytes: number;
}

export interface WireError {
  message: string;
  code?: string | number;
}

export type ToIoThread =
  | { t: 'subscribe'; id: number; filters: Record<string, { qos: 0 | 1 | 2; nl?: boolean }> }
  | { t: 'unsubscribe'; id: number; filters: string[] }
  | { t: 'publish'; id: number; topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean }
  | { t: 'reconnect' }
  | { t: 'end'; id: number; force: boolean }
  /** A batch was processed: the next may come. */
  | { t: 'done' };

export type FromIoThread =
  | { t: 'connect'; sessionPresent: boolean }
  | { t: 'close' }
  | { t: 'error'; error: WireError }
  /** Messages in message-batch.ts's format, in the first byteLength bytes of a transferred buffer. */
  | { t: 'msgs'; buffer: ArrayBuffer; byteLength: number }
  | { t: 'reply'; id: number; error?: WireError };
