import type { Socket } from 'node:net';
import type { Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { DeviceModel } from '../../processors/devices/define.js';
import { TokenBucket } from '../../processors/limits/token-bucket.js';
import type { DeviceReader } from '../../processors/registry/types.js';
import { isValidDeviceId } from '../../processors/topics.js';
import { type Clock, systemClock } from '../../processors/types.js';
import type { SecretCheck } from '../registry/credentials.js';
import { verifySecret } from '../registry/secret-hash.js';
import { type DeviceAcl, deviceAcl } from './auth-acl.js';
import { backoff, FailureCounter, LogThrottle, lockout, setBounded } from './auth-failures.js';
import { filterCovers, isValidFilter, stripShare } from './auth-topic-filter.js';
import type { ConnackRefusal } from './embedded-broker-options.js';

/**
 * The embedded broker's authentication and ACL.
 *
 * Devices connect with username = device id, password = the secret `gridgate devices credentials`
 * issued, and client id = device id. The client id rule keeps one device's credentials from being
 * used to take over (and, with clean sessions, kick off) another device's session: MQTT lets a new
 * CONNECT with an existing client id disconnect the old one [MQTT-3.1.4-2].
 *
 * Downstream systems (`mqtt.auth.users`) log in with their user name and an scrypt-hashed password
 * and get their own publish/subscribe filter lists; their client id is free.
 *
 * `required: false` (local demo only) lets every client in and turns the per-client ACL off: an
 * ACL keyed on a client id that nobody proved is not a boundary, and pretending it is would mislead.
 * The topic-depth limit applies in both modes.
 *
 * Failed logins: knowing a device's id must not let anyone lock the device out, nor spend the
 * gateway's CPU. So failures are counted per (address, client id) — `maxFailures` locks
 * that pair for `lockoutS`, and the device connecting from its own address is untouched — and per
 * address over all ids, where past `maxFailuresPerAddress` the address backs off exponentially up
 * to `lockoutS`. Pairs that logged in before skip the address backoff (the real device behind a
 * carrier NAT shared with a failing one). Over all sources, secret checks are bounded by token
 * buckets (`checksPerS`, and `slowChecksPerS` for scrypt); past them CONNACK 3, "server unavailable",
 * so a flood costs a comparison, not a hash. Locked and busy refusals run no hash at all.
 */

/** Why a CONNECT was refused (each is counted), and its MQTT 3.1.1 §3.2.2.3 CONNACK return code. */
export const REFUSAL_CODES = {
  no_credentials: 4, // bad user name or password
  unknown_device: 4, // same answer as a wrong secret: the id's existence is not revealed
  retired: 5, // not authorized: the credentials may be right, the device may not connect
  client_id_mismatch: 2, // identifier rejected
  bad_secret: 4,
  locked_out: 5,
  busy: 3, // server unavailable: the verification budget is spent; the client retries later
} as const satisfies Record<string, ConnackRefusal>;
export type RefusalReason = keyof typeof REFUSAL_CODES;

/** Why a PUBLISH was refused (the connection is closed, MQTT 3.1.1 has no negative PUBACK). */
export type PublishDenial = 'foreign_topic' | 'topic_too_deep' | 'device_gone';
export type SubscribeDenial = 'not_permitted' | 'topic_too_deep' | 'invalid_filter';

export interface MqttUser {
  username: string;
  /** `scrypt$N$r$p$salt$hash` from `gridgate tokens hash-secret`. */
  scrypt: string;
  publish: readonly string[];
  subscribe: readonly string[];
}

export interface DeviceAuthOptions {
  devices: Pick<DeviceReader, 'get'>;
  /** Looks the device's stored hash up and says what checking it costs (CredentialStore). */
  credentials: { check(id: string): Promise<SecretCheck> };
  models: { get(id: string): DeviceModel | undefined };
  /** config mqtt.auth.users */
  users?: readonly MqttUser[];
  required: boolean;
  /** Failures from one address with one client id before that pair is locked for lockoutS. */
  maxFailures: number;
  /**
   * Failures from one address over all client ids before the address backs off (1 s, doubling per
   * further failure, up to lockoutS). Default maxFailures * 4: many NB-IoT/4G devices share one
   * carrier NAT address.
   */
  maxFailuresPerAddress?: number;
  lockoutS: number;
  /** Secret checks per second over all clients (token bucket); past it, CONNACK 3. Default 2000. */
  checksPerS?: number;
  /** scrypt checks per second (users, device hashes not yet migrated); past it, CONNACK 3. Default 20. */
  slowChecksPerS?: number;
  /** config limits.maxTopicDepth: levels allowed in a publish topic or subscription filter. */
  maxTopicDepth: number;
  /** config hj212.mqttTopic (with `{mn}`): a device with an MN may publish its raw frames there. */
  hj212Topic?: string;
  unknown?: { record(s: { transport: 'mqtt'; id: string; remote?: string }): void };
  logger: Logger;
  clock?: Clock;
}

/** Refused logins are logged at most once per client id and per address in this interval. */
const LOG_INTERVAL_MS = 60_000;
/**
 * How long a successful login vouches for its (address, client id) pair: long enough to span a
 * gateway's ordinary reconnect cycles, short enough that an address handed to someone else by the
 * carrier stops vouching.
 */
const VOUCH_MS = 86_400_000;
/** Pairs remembered as vouched at most; past it the least recently seen goes. */
const MAX_VOUCHED = 100_000;

/** Every counter at zero (DeviceAuthStats). */
function zeroStats() {
  const refused = Object.fromEntries(Object.keys(REFUSAL_CODES).map((reason) => [reason, 0]));
  return {
    accepted: { device: 0, user: 0, open: 0 },
    refused: refused as Record<RefusalReason, number>,
    publishDenied: { foreign_topic: 0, topic_too_deep: 0, device_gone: 0 },
    subscribeDenied: { not_permitted: 0, topic_too_deep: 0, invalid_filter: 0 },
    /** Secrets checked (any hash). Stays flat while a client is locked out or the broker is busy. */
    hashChecks: 0,
    /** Of those, scrypt checks (users, device hashes not yet migrated). */
    slowChecks: 0,
    /** (address, client id) pairs that reached maxFailures. */
    lockouts: 0,
    /** Times an address started a backoff past maxFailuresPerAddress. */
    addressBackoffs: 0,
  };
}
export type DeviceAuthStats = ReturnType<typeof zeroStats>;

type Session = { kind: 'device'; id: string; acl: DeviceAcl } | { kind: 'user'; user: MqttUser };

export interface DeviceAuth {
  authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<boolean | { code: ConnackRefusal }>;
  /** Synchronous: every publish asks, and the answer is in memory (no promise per message). */
  authorizePublish(client: Client, packet: PublishPacket): boolean;
  authorizeSubscribe(client: Client, sub: Subscription): Promise<boolean>;
  readonly stats: DeviceAuthStats;
}

export function createDeviceAuth(opts: DeviceAuthOptions): DeviceAuth {
  const log = opts.logger.child({ component: 'mqtt-auth' });
  const clock = opts.clock ?? systemClock;
  const users = new Map((opts.users ?? []).map((u) => [u.username, u]));
  const lockoutMs = opts.lockoutS * 1000;
  const byPair = new FailureCounter(lockout(opts.maxFailures, lockoutMs));
  const byAddress = new FailureCounter(
    backoff(opts.maxFailuresPerAddress ?? opts.maxFailures * 4, Math.min(1000, lockoutMs), lockoutMs),
  );
  /**
   * (address, client id) pairs that proved their secret, and when. An attacker who knows a
   * device's id cannot open a TCP connection from the device's own address (the handshake needs
   * the reply), so a pair that succeeded before is the real device coming back: failures from
   * others on the same address (a carrier NAT) and a budget spent by a flood must not keep it out.
   */
  const vouched = new Map<string, number>();
  // Token buckets over all sources: a flood costs a comparison, not a hash.
  const bucket = (perS: number) => new TokenBucket({ ratePerS: perS, burst: perS }, clock.now());
  const checks = bucket(opts.checksPerS ?? 2000);
  const slowChecks = bucket(opts.slowChecksPerS ?? 20);
  const logThrottle = new LogThrottle(LOG_INTERVAL_MS);
  // Weak: a session lives as long as aedes keeps its Client object.
  const sessions = new WeakMap<Client, Session>();
  const stats = zeroStats();
  if (!opts.required) log.warn('mqtt.auth.required is false: any client may connect and publish anywhere');

  const refuse = (
    reason: RefusalReason,
    clientId: string,
    remote: string,
    count = true,
  ): { code: ConnackRefusal } => {
    stats.refused[reason]++;
    const now = clock.now();
    if (count) {
      if (byPair.fail(pairKey(remote, clientId), now) > 0) {
        stats.lockouts++;
        note(
          [`pair:${remote}|${clientId}`],
          now,
          { clientId: clientId.slice(0, 128), remote, lockoutS: opts.lockoutS },
          'too many failed mqtt logins from this address with this client id; the pair is locked',
        );
      }
      const wait = byAddress.fail(remote, now);
      if (wait > 0) {
        stats.addressBackoffs++;
        note(
          [`addr:${remote}`],
          now,
          { remote, waitMs: wait },
          'too many failed mqtt logins from this address; it backs off',
        );
      }
    }
    // Never the password; the client id is the client's to choose, so it is cut short.
    const suppressed = logThrottle.admit([`id:${clientId}`, `ip:${remote}`], now);
    if (suppressed !== undefined) {
      log.warn(
        { clientId: clientId.slice(0, 128), remote, reason, suppressed },
        suppressed > 0
          ? `mqtt login refused; ${suppressed} more refused since the last line for this client id or address`
          : 'mqtt login refused',
      );
    }
    return { code: REFUSAL_CODES[reason] };
  };
  /** One line per key per interval; the line says how many the throttle held back since the last. */
  const note = (keys: string[], now: number, fields: Record<string, unknown>, msg: string) => {
    const suppressed = logThrottle.admit(keys, now);
    if (suppressed !== undefined) log.warn({ ...fields, suppressed }, msg);
  };
  const busy = (clientId: string, remote: string): { code: ConnackRefusal } => {
    // Not the client's fault, so not counted as its failure; logged through the same throttle.
    stats.refused.busy++;
    note(
      ['busy'],
      clock.now(),
      { clientId: clientId.slice(0, 128), remote },
      'mqtt login refused: secret-check budget spent (mqtt.auth.checksPerS / slowChecksPerS); clients retry',
    );
    return { code: REFUSAL_CODES.busy };
  };
  const tooDeep = (topic: string) => {
    let levels = 1;
    for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) levels++;
    return levels > opts.maxTopicDepth;
  };
  /**
   * Rebuilt when the registry gives the device another model or MN, or when its model object is
   * replaced: a models-folder reload swaps in new objects, so a connected device gets its model's
   * new topics at its next publish. Compared by object, not by id: the id stays the same.
   * Undefined: the device is gone, retired, or its model is.
   */
  const aclFor = (id: string, prior?: DeviceAcl): DeviceAcl | undefined => {
    const device = opts.devices.get(id);
    if (!device || device.state === 'retired') return undefined;
    const model = opts.models.get(device.model);
    if (!model) return undefined;
    if (prior && prior.model === model && prior.mn === device.hj212?.mn) return prior;
    return deviceAcl(model, id, device.hj212?.mn, opts.hj212Topic);
  };
  /** A device session's ACL as it stands now, kept for the next check. */
  const currentAcl = (session: { id: string; acl: DeviceAcl }): DeviceAcl | undefined => {
    const acl = aclFor(session.id, session.acl);
    if (acl) session.acl = acl;
    return acl;
  };

  return {
    stats,

    async authenticate(client, username, password) {
      const clientId = client.id;
      const remote = (client.conn as Socket).remoteAddress ?? 'unknown';
      if (!opts.required) {
        stats.accepted.open++;
        return true;
      }
      const now = clock.now();
      const pair = pairKey(remote, clientId);
      const since = vouched.get(pair);
      const known = since !== undefined && now - since <= VOUCH_MS;
      // Refused before any hash runs: a locked client costs one Map lookup, not a hash.
      if (byPair.blockedUntil(pair, now) > 0 || (!known && byAddress.blockedUntil(remote, now) > 0)) {
        return refuse('locked_out', clientId, remote, false);
      }
      if (username === undefined || username === '' || password === undefined || password.length === 0) {
        return refuse('no_credentials', clientId, remote);
      }
      const secret = password.toString('utf8');
      const admitted = (session: Session) => {
        byPair.succeed(pair);
        setBounded(vouched, pair, clock.now(), MAX_VOUCHED);
        sessions.set(client, session);
        stats.accepted[session.kind]++;
        return true;
      };
      const user = users.get(username);
      if (user) {
        // Human-chosen passwords stay scrypt, so every check is slow and always budgeted.
        if (!checks.take(now) || !slowChecks.take(now)) return busy(clientId, remote);
        stats.hashChecks++;
        stats.slowChecks++;
        if (!(await verifySecret(secret, user.scrypt))) return refuse('bad_secret', clientId, remote);
        log.debug({ clientId, user: username }, 'mqtt user connected');
        return admitted({ kind: 'user', user });
      }
      const device = opts.devices.get(username);
      if (!device) {
        if (isValidDeviceId(username)) opts.unknown?.record({ transport: 'mqtt', id: username, remote });
        return refuse('unknown_device', clientId, remote);
      }
      if (clientId !== username) return refuse('client_id_mismatch', clientId, remote);
      if (device.state === 'retired') return refuse('retired', clientId, remote);
      const acl = aclFor(device.id);
      if (!acl) return refuse('unknown_device', clientId, remote);
      // A vouched pair is not held back by a flood it did not cause; scrypt is always bounded.
      if (!known && !checks.take(now)) return busy(clientId, remote);
      const check = await opts.credentials.check(device.id);
      if (check.cost === 'slow') {
        if (!slowChecks.take(clock.now())) return busy(clientId, remote);
        stats.slowChecks++;
      }
      stats.hashChecks++;
      if (!(await check.verify(secret))) return refuse('bad_secret', clientId, remote);
      return admitted({ kind: 'device', id: device.id, acl });
    },

    authorizePublish(client, packet) {
      const deny = (reason: PublishDenial) => {
        stats.publishDenied[reason]++;
        log.warn({ clientId: client.id, topic: packet.topic.slice(0, 256), reason }, 'mqtt publish refused');
        return false;
      };
      if (tooDeep(packet.topic)) return deny('topic_too_deep');
      if (!opts.required) return true;
      const session = sessions.get(client);
      if (!session) return deny('foreign_topic');
      if (session.kind === 'user')
        return session.user.publish.some((f) => filterCovers(f, packet.topic)) || deny('foreign_topic');
      // Re-read per publish (one Map lookup): a device retired while connected stops here.
      const acl = currentAcl(session);
      if (!acl) return deny('device_gone');
      return acl.publish.has(packet.topic) || deny('foreign_topic');
    },

    async authorizeSubscribe(client, sub) {
      const filter = stripShare(sub.topic);
      const deny = (reason: SubscribeDenial) => {
        stats.subscribeDenied[reason]++;
        log.warn(
          { clientId: client.id, filter: sub.topic.slice(0, 256), reason },
          'mqtt subscription refused',
        );
        return false;
      };
      if (!isValidFilter(filter)) return deny('invalid_filter');
      if (tooDeep(filter)) return deny('topic_too_deep');
      if (!opts.required) return true;
      const session = sessions.get(client);
      if (session?.kind === 'user')
        return session.user.subscribe.some((f) => filterCovers(f, filter)) || deny('not_permitted');
      return (session && currentAcl(session)?.subscribe.has(filter)) || deny('not_permitted');
    },
  };
}

function pairKey(remote: string, clientId: string): string {
  return `${remote}|${clientId}`;
}
