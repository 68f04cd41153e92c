import type { BrokerThreadData } from './broker-protocol.js';
import type { EmbeddedBrokerOptions } from './embedded-broker-options.js';
import type { IntakeWiring } from './intake-checkpoint.js';

/**
 * A batch waiting to be handed over this big (two more handed over) holds the broker's reads: a few
 * dozen typical messages. Small on purpose: what waits beyond it stays in the sockets, where fair
 * reads serve a quiet device first, instead of in a FIFO in front of the pipeline, where a larger
 * mark lengthened the publish -> alert tail in bench scenario 3.
 */
const HIGH_WATER_BYTES = 16 * 1024;

export interface ThreadedEmbeddedBrokerOptions extends EmbeddedBrokerOptions {
  /** A batch this big waiting in the thread, with two more handed over and not processed, holds all reads. Default 16 KiB. */
  highWaterBytes?: number;
  /** QoS 1 messages are logged to disk before they are acknowledged (intake-checkpoint.ts). */
  intake?: IntakeWiring;
}

/** What the broker thread is started with: the options it can use (no functions cross threads). */
export function brokerThreadData(o: ThreadedEmbeddedBrokerOptions, port: number): BrokerThreadData {
  return {
    host: o.host,
    port,
    maxPayloadBytes: o.maxPayloadBytes,
    maxPacketBytes: o.maxPacketBytes,
    tls: o.tls,
    maxConnectionsPerIp: o.maxConnectionsPerIp,
    readBudgetMs: o.readBudgetMs,
    persistence: o.persistence,
    highWaterBytes: o.highWaterBytes ?? HIGH_WATER_BYTES,
    intake: o.intake?.log,
    hooks: {
      authenticate: o.authenticate !== undefined,
      authorizePublish: o.authorizePublish !== undefined,
      authorizeSubscribe: o.authorizeSubscribe !== undefined,
    },
  };
}
