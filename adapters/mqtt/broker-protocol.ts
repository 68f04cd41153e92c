import type { EmbeddedBrokerOptions, EmbeddedBrokerStats } from './embedded-broker.js';
import type { FairReadsStats } from './fair-reads.js';
import type { WireError } from './io-protocol.js';

/**
 * Messages between ThreadedEmbeddedBroker (the gateway's thread) and broker-thread.ts. Structured-
 * cloneable only: the gateway's hooks stay on its thread, and the broker thread asks for them.
 * Connections are named by a number the thread gives each aedes client (`conn`), not by client id:
 * a client id can be taken over by a new connection while the old one's messages are in flight.
 */

/** The listener options the thread's EmbeddedBroker takes as they are (no hooks: those stay behind). */
export interface BrokerThreadData
  extends Pick<
    EmbeddedBrokerOptions,
    'host' | 'port' | 'maxPayloadBytes' | 'maxPacketBytes' | 'tls' | 'maxConnectionsPerIp' | 'readBudgetMs'
  > {
  /** A batch waiting to be handed over this big (with MAX_IN_FLIGHT handed over) holds all reads. */
  highWaterBytes: number;
  /** pino's numeric level: log records below it are not sent over. */
  logLevel: number;
  /** Which gateway hooks exist (absent ones answer "allow" in the thread, as EmbeddedBroker's defaults do). */
  hooks: { authenticate: boolean; authorizePublish: boolean; authorizeSubscribe: boolean };
}

/** Totals the thread counts (its EmbeddedBroker's stats and its read pacing). */
export interface BrokerThreadStats {
  /** messages and unrouted here count every publish handed over; the gateway's side routes and counts those. */
  broker: EmbeddedBrokerStats;
  connectedClients: number;
  fairness: FairReadsStats;
  /** Times every read was held because the gateway's thread had not taken the batches handed over. */
  holds: number;
}

export type BrokerAsk =
  | {
      what: 'authenticate';
      conn: number;
      clientId: string;
      remote: string;
      username?: string;
      password?: Uint8Array;
    }
  | { what: 'publish'; conn: number; clientId: string; topic: string; qos: 0 | 1 | 2; retain: boolean }
  | { what: 'subscribe'; conn: number; clientId: string; topic: string; qos: 0 | 1 | 2 };

/** true / false, or for `authenticate` a CONNACK refusal code. */
export type BrokerVerdict = boolean | { code: 1 | 2 | 3 | 4 | 5 };

export type ToBrokerThread =
  | { t: 'verdict'; id: number; verdict?: BrokerVerdict; error?: WireError }
  | { t: 'publish'; id: number; topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean }
  /** The gateway refused a message it re-checked (e.g. the device was retired): close that connection. */
  | { t: 'close'; conn: number }
  | { t: 'stop'; id: number }
  /** The device models' topics changed: forget the topics each connection was allowed to publish on. */
  | { t: 'forget'; id: number }
  /** A batch was processed: the next may come. */
  | { t: 'done' };

export type FromBrokerThread =
  | { t: 'listening'; port: number }
  | { t: 'failed'; error: WireError }
  /** Messages in message-batch.ts's format (source = conn), in the first byteLength bytes of a transferred buffer. */
  | { t: 'msgs'; buffer: ArrayBuffer; byteLength: number }
  | ({ t: 'ask'; id: number } & BrokerAsk)
  /** A client registered (online) or went away; ordered after the messages it sent before. */
  | { t: 'client'; conn: number; clientId: string; online: boolean; at: number }
  /** The connection closed (whether or not it ever completed CONNECT): forget its number. */
  | { t: 'gone'; conn: number }
  | { t: 'oversize'; clientId?: string; topic: string; size: number }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { t: 'stats'; stats: BrokerThreadStats }
  | { t: 'reply'; id: number; error?: WireError };
