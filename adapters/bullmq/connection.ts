/**
 * ioredis connections for BullMQ. Producers (queues) fail fast while Redis is unreachable, so a
 * caller can buffer instead of hanging; blocking consumers (workers) retry forever, as BullMQ requires.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** A Redis URL (`redis://host:port/db`), ioredis options, or an existing client (shared, never closed by us). */
export type RedisConnectionInput = string | RedisOptions | Redis;

export interface OwnedConnection {
  client: Redis;
  /** True when we created the client and must quit it on stop. */
  owned: boolean;
}

export function openConnection(input: RedisConnectionInput, kind: 'producer' | 'worker'): OwnedConnection {
  if (input instanceof Redis) {
    // A shared client cannot serve a blocking worker (its maxRetriesPerRequest is not null): use a copy.
    if (kind === 'worker') return { client: input.duplicate({ maxRetriesPerRequest: null }), owned: true };
    return { client: input, owned: false };
  }
  const opts: RedisOptions =
    kind === 'worker'
      ? // BullMQ workers block on BZPOPMIN and must never give up a command (bullmq docs, "Connections").
        { maxRetriesPerRequest: null }
      : // A producer must not queue commands while disconnected: emit() would hang instead of buffering.
        { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  const client = typeof input === 'string' ? new Redis(input, opts) : new Redis({ ...input, ...opts });
  return { client, owned: true };
}

/**
 * Resolves when the client is first ready, or after `timeoutMs` (whatever its state then). A
 * producer fails commands fast while disconnected, which is right during an outage but not in the
 * moment after start, while the first connection is still being made: callers that send their
 * own commands await this once per call (it is settled after the first connection, so an outage
 * later still fails at once).
 */
export function firstReady(client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    client.once('ready', done);
  });
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
