/**
 * ioredis connections for BullMQ. Producers (queues) fail fast while Redis is unreachable, so a
 * caller can buffer instead of hanging; blocking consumers (workers) retry forever, as BullMQ requires.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { within } from './deadline.js';

/** A Redis URL (`redis://host:port/db`), ioredis options, or an existing client (shared, never closed by us). */
export type RedisConnectionInput = string | RedisOptions | Redis;

export interface OwnedConnection {
  client: Redis;
  /** True when we created the client and must quit it on stop. */
  owned: boolean;
}

/**
 * A client we create gets the one 'error' listener of its connection: ioredis reports every failed
 * reconnect as an 'error' and prints it to stderr when nobody listens. A shared client is left to
 * its owner, listeners included (BullMQ passes its errors on to queues and workers that listen).
 */
export function openConnection(
  input: RedisConnectionInput,
  kind: 'producer' | 'worker',
  log: Logger | undefined,
): OwnedConnection {
  let client: Redis;
  if (input instanceof Redis) {
    if (kind === 'producer') return { client: input, owned: false };
    // A shared client cannot serve a blocking worker (its maxRetriesPerRequest is not null): use a copy.
    client = input.duplicate({ maxRetriesPerRequest: null });
  } else {
    const opts: RedisOptions =
      kind === 'worker'
        ? // BullMQ workers block on BZPOPMIN and must never give up a command (bullmq docs, "Connections").
          { maxRetriesPerRequest: null }
        : // A producer must not queue commands while disconnected: emit() would hang instead of buffering.
          { maxRetriesPerRequest: 1, enableOfflineQueue: false };
    client = typeof input === 'string' ? new Redis(input, opts) : new Redis({ ...input, ...opts });
  }
  client.on('error', (err: Error) => log?.debug({ err: err.message }, 'redis connection error'));
  return { client, owned: true };
}

/**
 * Resolves when the client is first ready, or after `timeoutMs` (whatever its state then). A
 * producer fails commands fast while disconnected, which is right during an outage but not in the
 * moment after start, while the first connection is still being made: callers that send their
 * own commands await this once per call (it is settled after the first connection, so an outage
 * later still fails at once).
 */
export function firstReady(client: Redis, timeoutMs = 5000): Promise<unknown> {
  if (client.status === 'ready') return Promise.resolve();
  return within(new Promise((ready) => client.once('ready', ready)), timeoutMs);
}

export async function closeConnection(c: OwnedConnection): Promise<void> {
  if (!c.owned) return;
  try {
    await c.client.quit();
  } catch {
    // Already disconnected (Redis down at stop): nothing left to flush on this socket.
    c.client.disconnect();
  }
}
