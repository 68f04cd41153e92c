import type { Client, PublishPacket, Subscription } from 'aedes';
import type { InboundMessage } from '../../processors/types.js';
import type { FairReads } from './fair-reads.js';
import type { FdBudgetOptions } from './fd-budget.js';
import type { IngressHooks } from './types.js';

/**
 * Where the embedded broker keeps what must outlive it (aedes-persistence-redis): persistent
 * sessions' subscriptions and queued QoS 1/2 messages, retained messages, wills. Plain data, so the
 * broker's worker thread can be handed it and open its own connection.
 */
export interface BrokerPersistenceOptions {
  /** redis://[:password@]host:port[/db]; its password is never logged nor put in an error. */
  redisUrl: string;
  /**
   * Prefix of every key the broker writes: the gateway's redis.prefix + 'mqtt:', so gateways (and
   * tests) sharing one Redis never see each other's sessions or retained messages.
   */
  keyPrefix: string;
  /** start() gives up when Redis has not answered within this (default 10 000 ms). */
  connectTimeoutMs?: number;
}

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 (aedes maps them to MQTT 5 reason codes itself). */
export type ConnackRefusal = 1 | 2 | 3 | 4 | 5;

export interface EmbeddedBrokerOptions extends IngressHooks {
  /**
   * As IngressHooks.onMessage, with the aedes client that published and the QoS it published at
   * (EmbeddedBroker always passes both; optional so that IngressHooks' onMessage fits).
   */
  onMessage(msg: InboundMessage, client?: Client, qos?: 0 | 1 | 2): void;
  host: string;
  /** 0 picks a free port; read `port` after start(). */
  port: number;
  /**
   * A PUBLISH with a bigger payload is acknowledged, dropped, and reported through onOversize. A
   * client announcing any packet over this plus 64 KiB (room for the longest topic and MQTT 5
   * properties) is disconnected before the body is buffered (MQTT 5.0 §3.1.2.11.4: "Packet too
   * large").
   */
  maxPayloadBytes: number;
  tls?: { cert: string; key: string };
  /** Unset: aedes' in-memory persistence, emptied by every restart. */
  persistence?: BrokerPersistenceOptions;
  /**
   * Open TCP connections allowed from one remote address (config limits.maxConnectionsPerIp); more
   * are closed on accept, before any byte is parsed, and counted in stats.connectionsRefused.
   * Default: no limit.
   */
  maxConnectionsPerIp?: number;
  /** Descriptors kept back from MQTT and how often they are counted (FdBudget). */
  fdBudget?: Pick<FdBudgetOptions, 'reserve' | 'sampleMs'>;
  /**
   * Work (ms) one event-loop turn may spend reading connections before the rest wait for the next
   * turn: connections with new bytes first, then backlogs round robin (FairReads). 0 or unset: each
   * connection is read to empty.
   */
  readBudgetMs?: number;
  /** Reads paced by this instance instead of one made from readBudgetMs (the broker thread holds it for back-pressure). */
  reads?: FairReads;
  /** Called when a client is registered (online) and when it goes away (offline). */
  onConnectivity?(clientId: string, online: boolean, at: number, client: Client): void;
  onOversize?(clientId: string | undefined, topic: string, size: number): void;
  /** Default: allow. `{ code }` refuses the CONNECT with that return code. */
  authenticate?(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<boolean | { code: ConnackRefusal }>;
  /**
   * Default: allow (except $SYS/, reserved). false closes the connection (MQTT-3.3.5-2: no error is
   * returned). May answer synchronously (the hot path: one call per message) or with a promise.
   */
  authorizePublish?(client: Client, packet: PublishPacket): boolean | Promise<boolean>;
  /** Default: allow. false answers the subscription with failure 0x80. */
  authorizeSubscribe?(client: Client, sub: Subscription): Promise<boolean>;
}

/** Every counter at zero. */
export function zeroBrokerStats() {
  return {
    messages: 0,
    unrouted: 0,
    oversize: 0,
    packetTooLarge: 0,
    clientErrors: 0,
    connectionErrors: 0,
    callbackErrors: 0,
    /** Connections closed on accept because their address already had maxConnectionsPerIp open. */
    connectionsRefused: 0,
    /** Connections closed on accept because the process was near its open-file limit (or at it: EMFILE). */
    fdRefused: 0,
  };
}

export type EmbeddedBrokerStats = ReturnType<typeof zeroBrokerStats>;
