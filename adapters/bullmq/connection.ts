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

export async function closeConnection(c: OwnedConnection): Promise<void> {
  if (!c.owned) return;
  try {
    await c.client.quit();
  } catch {
    // Already disconnected (Redis down at stop): nothing left to flush on this socket.
    c.client.disconnect();
  }
}
