import type { Socket } from 'node:net';
import type { Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { DeviceModel } from '../../processors/devices/define.js';
import type { DeviceReader } from '../../processors/registry/types.js';
import { isValidDeviceId } from '../../processors/topics.js';
import { type Clock, systemClock } from '../../processors/types.js';
import { verifySecret } from '../registry/secret-hash.js';
import { type DeviceAcl, deviceAcl } from './auth-acl.js';
import { FailureTracker } from './auth-failures.js';
import { filterCovers, isValidFilter, stripShare, topicMatches } from './auth-topic-filter.js';
import type { ConnackRefusal } from './embedded-broker.js';

/**
 * The embedded broker's authentication and ACL (issue 4, Security).
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
 */

/** Why a CONNECT was refused; each is counted. */
export type RefusalReason =
  | 'no_credentials'
  | 'unknown_device'
  | 'retired'
  | 'client_id_mismatch'
  | 'bad_secret'
  | 'locked_out';

/** Why a PUBLISH was refused (the connection is closed, MQTT 3.1.1 has no negative PUBACK). */
export type PublishDenial = 'foreign_topic' | 'topic_too_deep' | 'device_gone';
export type SubscribeDenial = 'not_permitted' | 'topic_too_deep' | 'invalid_filter';

/** MQTT 3.1.1 §3.2.2.3 CONNACK return codes for each refusal. */
export const REFUSAL_CODES: Readonly<Record<RefusalReason, ConnackRefusal>> = {
  no_credentials: 4, // bad user name or password
  unknown_device: 4, // same answer as a wrong secret: the id's existence is not revealed
  bad_secret: 4,
  retired: 5, // not authorized: the credentials may be right, the device may not connect
  locked_out: 5,
  client_id_mismatch: 2, // identifier rejected
};

export interface MqttUser {
  username: string;
  /** `scrypt$N$r$p$salt$hash` from `gridgate tokens hash-secret`. */
  scrypt: string;
  publish: readonly string[];
  subscribe: readonly string[];
}

export interface DeviceAuthOptions {
  devices: Pick<DeviceReader, 'get'>;
  credentials: { verify(id: string, secret: string): Promise<boolean> };
  models: { get(id: string): DeviceModel | undefined };
  /** config mqtt.auth.users */
  users?: readonly MqttUser[];
  required: boolean;
  /** Failures from one client id before it is locked for lockoutS. */
  maxFailures: number;
  /** Failures from one remote address before it is locked. Default maxFailures * 10: many NB-IoT/4G devices share one carrier NAT address. */
  maxFailuresPerIp?: number;
  lockoutS: number;
  /** config limits.maxTopicDepth: levels allowed in a publish topic or subscription filter. */
  maxTopicDepth: number;
  /** config hj212.mqttTopic (with `{mn}`): a device with an MN may publish its raw frames there. */
  hj212Topic?: string;
  unknown?: { record(s: { transport: 'mqtt'; id: string; remote?: string }): void };
  logger: Logger;
  clock?: Clock;
}

export interface DeviceAuthStats {
  accepted: { device: number; user: number; open: number };
  refused: Record<RefusalReason, number>;
  publishDenied: Record<PublishDenial, number>;
  subscribeDenied: Record<SubscribeDenial, number>;
  /** Password hashes computed (scrypt). Stays flat while a client is locked out. */
  hashChecks: number;
  /** Keys (client ids / addresses) that reached the failure limit. */
  lockouts: number;
}

type Session =
  | { kind: 'device'; id: string; acl: DeviceAcl }
  | { kind: 'user'; user: MqttUser }
  | { kind: 'open' };

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
  const byClient = new FailureTracker({ maxFailures: opts.maxFailures, lockoutMs });
  const byIp = new FailureTracker({ maxFailures: opts.maxFailuresPerIp ?? opts.maxFailures * 10, lockoutMs });
  // Weak: a session lives as long as aedes keeps its Client object.
  const sessions = new WeakMap<Client, Session>();
  const stats: DeviceAuthStats = {
    accepted: { device: 0, user: 0, open: 0 },
    refused: {
      no_credentials: 0,
      unknown_device: 0,
      retired: 0,
      client_id_mismatch: 0,
      bad_secret: 0,
      locked_out: 0,
    },
    publishDenied: { foreign_topic: 0, topic_too_deep: 0, device_gone: 0 },
    subscribeDenied: { not_permitted: 0, topic_too_deep: 0, invalid_filter: 0 },
    hashChecks: 0,
    lockouts: 0,
  };
  if (!opts.required) log.warn('mqtt.auth.required is false: any client may connect and publish anywhere');

  const refuse = (
    reason: RefusalReason,
    clientId: string,
    remote: string,
    count = true,
  ): { code: ConnackRefusal } => {
    stats.refused[reason]++;
    if (count) {
      const now = clock.now();
      if (byClient.fail(`id:${clientId}`, now)) locked('client id', clientId, remote);
      if (byIp.fail(remote, now)) locked('address', clientId, remote);
    }
    log.debug({ clientId, remote, reason }, 'mqtt connect refused');
    return { code: REFUSAL_CODES[reason] };
  };
  const locked = (what: string, clientId: string, remote: string) => {
    stats.lockouts++;
    log.warn({ clientId, remote, lockoutS: opts.lockoutS }, `too many failed mqtt logins; ${what} locked`);
  };
  const tooDeep = (topic: string) => {
    let levels = 1;
    for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) levels++;
    return levels > opts.maxTopicDepth;
  };
  const aclFor = (id: string, prior: DeviceAcl | undefined): DeviceAcl | undefined => {
    const device = opts.devices.get(id);
    if (!device || device.state === 'retired') return undefined;
    if (prior && prior.model === device.model && prior.mn === device.hj212?.mn) return prior;
    const model = opts.models.get(device.model);
    return model ? deviceAcl(model, id, device.hj212?.mn, opts.hj212Topic) : undefined;
  };

  return {
    stats,

    async authenticate(client, username, password) {
      const clientId = client.id;
      const remote = remoteOf(client);
      if (!opts.required) {
        sessions.set(client, { kind: 'open' });
        stats.accepted.open++;
        return true;
      }
      const now = clock.now();
      // Refused before any hash runs: a locked client costs one Map lookup, not 16 MiB of scrypt.
      if (byClient.lockedUntil(`id:${clientId}`, now) > 0 || byIp.lockedUntil(remote, now) > 0) {
        return refuse('locked_out', clientId, remote, false);
      }
      if (username === undefined || username === '' || password === undefined || password.length === 0) {
        return refuse('no_credentials', clientId, remote);
      }
      const secret = password.toString('utf8');
      const user = users.get(username);
      if (user) {
        stats.hashChecks++;
        if (!(await verifySecret(secret, user.scrypt))) return refuse('bad_secret', clientId, remote);
        byClient.succeed(`id:${clientId}`);
        sessions.set(client, { kind: 'user', user });
        stats.accepted.user++;
        log.debug({ clientId, user: username }, 'mqtt user connected');
        return true;
      }
      const device = opts.devices.get(username);
      if (!device) {
        if (isValidDeviceId(username)) opts.unknown?.record({ transport: 'mqtt', id: username, remote });
        return refuse('unknown_device', clientId, remote);
      }
      if (clientId !== username) return refuse('client_id_mismatch', clientId, remote);
      if (device.state === 'retired') return refuse('retired', clientId, remote);
      const acl = aclFor(device.id, undefined);
      if (!acl) return refuse('unknown_device', clientId, remote);
      stats.hashChecks++;
      if (!(await opts.credentials.verify(device.id, secret))) return refuse('bad_secret', clientId, remote);
      byClient.succeed(`id:${clientId}`);
      sessions.set(client, { kind: 'device', id: device.id, acl });
      stats.accepted.device++;
      return true;
    },

    authorizePublish(client, packet) {
      const session = sessions.get(client);
      const deny = (reason: PublishDenial) => {
        stats.publishDenied[reason]++;
        log.warn({ clientId: client.id, topic: packet.topic.slice(0, 256), reason }, 'mqtt publish refused');
        return false;
      };
      if (tooDeep(packet.topic)) return deny('topic_too_deep');
      if (!session) return opts.required ? deny('foreign_topic') : true;
      switch (session.kind) {
        case 'open':
          return true;
        case 'user':
          return session.user.publish.some((f) => topicMatches(f, packet.topic)) || deny('foreign_topic');
        case 'device': {
          // Re-read per publish (one Map lookup): a device retired while connected stops here.
          const acl = aclFor(session.id, session.acl);
          if (!acl) return deny('device_gone');
          session.acl = acl;
          return acl.publish.has(packet.topic) || deny('foreign_topic');
        }
      }
    },

    async authorizeSubscribe(client, sub) {
      const session = sessions.get(client);
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
      if (!session) return opts.required ? deny('not_permitted') : true;
      switch (session.kind) {
        case 'open':
          return true;
        case 'user':
          return session.user.subscribe.some((f) => filterCovers(f, filter)) || deny('not_permitted');
        case 'device': {
          const acl = aclFor(session.id, session.acl);
          if (!acl) return deny('not_permitted');
          session.acl = acl;
          return acl.subscribe.has(filter) || deny('not_permitted');
        }
      }
    },
  };
}

function remoteOf(client: Client): string {
  return (client.conn as Socket).remoteAddress ?? 'unknown';
}
