/**
 * Redis persistence for the embedded aedes broker (aedes-persistence-redis): the subscriptions of
 * persistent sessions (CONNECT with clean session 0, MQTT 3.1.1 §3.1.2.4), the QoS 1/2 messages
 * queued for them while offline, retained messages (§3.3.1.3) and wills survive a broker restart.
 *
 * Built from plain data (BrokerPersistenceOptions) because the broker runs in a worker thread: the
 * thread opens its own connection.
 */
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redactUrl } from '../../config/redact.js';
import { GridgateError } from '../../processors/errors.js';
import type { BrokerPersistenceOptions } from './embedded-broker-options.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * A command waiting for Redis fails after this many reconnect attempts (~0.3 s with ioredis'
 * default backoff), so aedes answers a client with an error instead of holding it through an outage.
 */
const MAX_RETRIES_PER_REQUEST = 3;
/** How long stop() waits for the replies still pending before it drops the connection. */
const QUIT_TIMEOUT_MS = 2_000;

/** The part of aedes-persistence-redis' (untyped) persistence this file touches; aedes uses the rest. */
interface RedisPersistence {
  createRetainedStreamCombi(patterns: string[]): Readable;
}

const require = createRequire(import.meta.url);
const createRedisPersistence = require('aedes-persistence-redis') as (opts: {
  conn: Redis;
}) => RedisPersistence;

/**
 * Every command's promise gets a rejection handler. aedes-persistence-redis fires some commands
 * without awaiting them (putWill's LREM and RPUSH, delWill's LREM, the LREM that drops a stale
 * queue entry); in a Redis outage their rejection would go unhandled, which ends the process (or the
 * broker's worker thread). Awaited commands still reject to their caller, and aedes reports those.
 */
class PersistenceConnection extends Redis {
  onCommandError: (err: unknown, command: string) => void = () => {};

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const reply = super.sendCommand(...args);
    if (reply instanceof Promise) reply.catch((err: unknown) => this.onCommandError(err, args[0].name));
    return reply;
  }
}

export interface BrokerPersistence {
  /** Hand to aedes as its `persistence` option. */
  readonly persistence: unknown;
  /** Waits for pending replies (bounded), then closes the connection. Call after aedes.close(). */
  close(): Promise<void>;
}

/**
 * Connects to Redis and builds the persistence on that connection. Rejects with
 * GG_ERR_REDIS_CONNECT (URL shown without its password) when Redis refuses or does not answer
 * within connectTimeoutMs; the connection is dropped then, so nothing keeps retrying.
 */
export async function openBrokerPersistence(
  opts: BrokerPersistenceOptions,
  logger: Logger,
): Promise<BrokerPersistence> {
  const log = logger.child({ component: 'mqtt-persistence' });
  const where = redactUrl(opts.redisUrl);
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  // keyPrefix is safe here: on a single node every command aedes-persistence-redis sends names its
  // keys as key arguments, which ioredis prefixes (HSCAN included: its MATCH filters hash fields,
  // not keys), and the key names it stores as list values are prefixed again when read back.
  const conn = new PersistenceConnection(opts.redisUrl, {
    keyPrefix: opts.keyPrefix,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
  });
  let lastError = '';
  let up = false;
  conn.onCommandError = (err, command) =>
    log.debug({ err: scrub(err, opts.redisUrl), command }, 'broker persistence command failed');
  conn.on('error', (err: Error) => {
    lastError = scrub(err, opts.redisUrl);
    // Logged once per outage: ioredis emits an error on every reconnect attempt.
    if (!up) return log.debug({ err: lastError, redis: where }, 'broker persistence redis error');
    up = false;
    log.error(
      { err: lastError, redis: where },
      'broker persistence lost Redis; persistent sessions and retained messages fail until it returns',
    );
  });
  conn.on('ready', () => {
    if (lastError) log.info({ redis: where }, 'broker persistence reconnected to Redis');
    up = true;
  });

  try {
    await withDeadline(conn.connect(), timeoutMs, `no answer within ${timeoutMs} ms`);
  } catch (err) {
    conn.disconnect();
    throw new GridgateError(
      'GG_ERR_REDIS_CONNECT',
      `cannot connect to Redis at ${where} for the embedded MQTT broker's sessions and retained messages`,
      [lastError || scrub(err, opts.redisUrl), 'start Redis or set redis.url (GRIDGATE_REDIS__URL)'],
    );
  }

  const persistence = createRedisPersistence({ conn });
  // aedes pipes this stream without an 'error' listener (lib/handlers/subscribe.js), so a failed
  // HSCAN would be thrown as an uncaught exception; the subscriber just gets no retained messages.
  const retained = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.createRetainedStreamCombi = (patterns) =>
    retained(patterns).on('error', (err: unknown) =>
      log.error(
        { err: scrub(err, opts.redisUrl), patterns },
        'retained messages could not be read; the subscriber gets none',
      ),
    );

  return {
    persistence,
    async close() {
      // aedes.close() leaves its persistence alone, so this is the only place the connection ends.
      // Not persistence.destroy(): it DISCONNECTs at once and drops replies still pending (the last
      // retained message or queued packet written); QUIT lets them land first.
      if (conn.status === 'ready') {
        await withDeadline(conn.quit(), QUIT_TIMEOUT_MS, 'quit timed out').catch(() => undefined);
      }
      if (conn.status !== 'end') conn.disconnect();
    },
  };
}

function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  // The loser settles later (connect() rejects once the connection is dropped): keep it handled.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** An error's message, with the URL's password cut out should a driver ever echo it. */
function scrub(err: unknown, url: string): string {
  const message = err instanceof Error ? err.message : String(err);
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // Unparseable URL: ioredis rejected it before any message could carry it.
  }
  return password ? message.split(password).join('***') : message;
}
