import type { EmbeddedBrokerOptions, EmbeddedBrokerStats } from './embedded-broker.js';
import type { FairReadsStats } from './fair-reads.js';
import type { IntakeLogConfig } from './intake-log.js';

/**
 * ThreadedEmbeddedBroker <-> broker-thread.ts over the thread channel (adapters/threads/).
 * Structured-cloneable only: the gateway's hooks stay on its thread, and the broker thread asks for
 * verdicts. Connections are named by a number the thread gives each aedes client (`conn`), not by
 * client id: a client id can be taken over by a new connection while the old one's messages are in
 * flight.
 *
 * The thread's stream: `msgs` batches (message-batch.ts, source = conn), and events in order with
 * them: `client` (online/offline), `gone` (a connection closed), `oversize`, `stats` (each second).
 * The gateway's side sends a `close` event: it refused a message it re-checked (a device retired
 * while connected), so that connection is closed.
 */

/** The listener options the thread's EmbeddedBroker takes as they are (no hooks: those stay behind). */
export interface BrokerThreadData
  extends Pick<
    EmbeddedBrokerOptions,
    | 'host'
    | 'port'
    | 'maxPayloadBytes'
    | 'maxPacketBytes'
    | 'tls'
    | 'maxConnectionsPerIp'
    | 'readBudgetMs'
    | 'persistence'
  > {
  /** A batch waiting to be handed over this big (with the credit window used up) holds all reads. */
  highWaterBytes: number;
  /** Which gateway hooks exist (absent ones answer "allow" in the thread, as EmbeddedBroker's defaults do). */
  hooks: { authenticate: boolean; authorizePublish: boolean; authorizeSubscribe: boolean };
  /** Where QoS 1 messages are logged before they are acknowledged; none: acknowledged as taken in. */
  intake?: IntakeLogConfig;
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

export interface AuthenticateAsk {
  conn: number;
  clientId: string;
  remote: string;
  username?: string;
  password?: Uint8Array;
}
export interface PublishAsk {
  conn: number;
  clientId: string;
  topic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
}
export interface SubscribeAsk {
  conn: number;
  clientId: string;
  topic: string;
  qos: 0 | 1 | 2;
}
export type BrokerAsk =
  | ({ what: 'authenticate' } & AuthenticateAsk)
  | ({ what: 'publish' } & PublishAsk)
  | ({ what: 'subscribe' } & SubscribeAsk);

/** true / false, or for `authenticate` a CONNACK refusal code. */
export type BrokerVerdict = boolean | { code: 1 | 2 | 3 | 4 | 5 };

/** Calls the gateway's side makes. */
export type BrokerCalls = {
  publish: [{ topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean }, undefined];
  /** The device models' topics changed: forget the topics each connection was allowed to publish on. */
  forget: [undefined, undefined];
  stop: [undefined, undefined];
};

/** Verdicts the thread asks the gateway's hooks for. */
export type BrokerAsks = {
  authenticate: [AuthenticateAsk, BrokerVerdict];
  authorizePublish: [PublishAsk, BrokerVerdict];
  authorizeSubscribe: [SubscribeAsk, BrokerVerdict];
};

export interface BrokerReady {
  port: number;
}

export type BrokerEvent =
  | { t: 'client'; conn: number; clientId: string; online: boolean; at: number }
  | { t: 'gone'; conn: number }
  | { t: 'oversize'; clientId?: string; topic: string; size: number };
