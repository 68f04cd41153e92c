import { connect as tcpConnect } from 'node:net';
import { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashSecret } from '../../adapters/registry/secret-hash.js';
import {
  FAST_SCRYPT,
  mosquitto,
  type SecuredBroker,
  type SecurityEnv,
  securedBroker,
  securityEnv,
} from './support.js';

/**
 * Who can lock whom out. Linux routes all of 127.0.0.0/8 to loopback, so a client socket bound to
 * 127.0.0.2 is a second source address on the same machine.
 */
let env: SecurityEnv;
let secrets: Record<string, string>;
const brokers: SecuredBroker[] = [];

beforeAll(async () => {
  env = await securityEnv(inject('redisUrl'));
  secrets = await env.addDevices(['ls-1', 'ls-2', 'ls-3']);
});
afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  await env?.close();
});

async function broker(opts: Parameters<typeof securedBroker>[1]): Promise<SecuredBroker> {
  const sb = await securedBroker(env, opts);
  brokers.push(sb);
  return sb;
}

/** The CONNACK return code (0 = admitted) for a real mqtt.js client whose socket is bound to `from`. */
function attempt(
  port: number,
  from: string,
  clientId: string,
  password: string,
  username = clientId,
): Promise<number> {
  return new Promise((resolve) => {
    const c = new MqttClient(() => tcpConnect({ port, host: '127.0.0.1', localAddress: from }), {
      clientId,
      username,
      password,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      protocolVersion: 4,
    });
    c.once('connect', () => c.end(true, () => resolve(0)));
    c.once('error', (err) => {
      c.end(true);
      resolve((err as { code?: number }).code ?? -1);
    });
  });
}

/** mosquitto_pub from a given source address (-A); its exit code (0 = connected and published). */
async function publishFrom(port: number, from: string, id: string, secret: string): Promise<number> {
  const r = await mosquitto('mosquitto_pub', [
    '-p',
    String(port),
    '-A',
    from,
    '-i',
    id,
    '-u',
    id,
    '-P',
    secret,
    '-t',
    `devices/${id}/telemetry`,
    '-m',
    '{"ts":1767225600,"wl":1}',
  ]);
  return r.code;
}

describe('failures from another address', () => {
  it('never keep a device out of its own address, however many there are', async () => {
    const now = 1_000_000;
    const sb = await broker({
      maxFailures: 3,
      maxFailuresPerAddress: 5,
      lockoutS: 60,
      clock: { now: () => now },
    });
    const port = sb.broker.port;
    // An attacker at 127.0.0.2 who knows the id: the pair locks, then the whole address backs off.
    for (let i = 0; i < 3; i++) expect(await attempt(port, '127.0.0.2', 'ls-1', 'guess')).toBe(4);
    expect(sb.auth.stats.lockouts).toBe(1);
    expect(await attempt(port, '127.0.0.2', 'ls-1', 'guess')).toBe(5);
    for (let i = 0; i < 2; i++) expect(await attempt(port, '127.0.0.2', `scan-${i}`, 'x')).toBe(4);
    expect(sb.auth.stats.addressBackoffs).toBe(1);
    expect(await attempt(port, '127.0.0.2', 'ls-1', secrets['ls-1']!)).toBe(5);

    // The real device, from its own address, with a real third-party client: admitted.
    expect(await publishFrom(port, '127.0.0.1', 'ls-1', secrets['ls-1']!)).toBe(0);
    expect(await attempt(port, '127.0.0.1', 'ls-1', secrets['ls-1']!)).toBe(0);
    expect(sb.auth.stats.accepted.device).toBe(2);
  });
});

describe('an address failing across many client ids', () => {
  it('is throttled as a whole, with a backoff that grows per failure, except for pairs that logged in before', async () => {
    let now = 2_000_000;
    const sb = await broker({
      maxFailures: 100,
      maxFailuresPerAddress: 3,
      lockoutS: 60,
      clock: { now: () => now },
    });
    const port = sb.broker.port;
    // ls-3 logged in from 127.0.0.3 before the scan: the real device behind a shared (NAT) address.
    expect(await attempt(port, '127.0.0.3', 'ls-3', secrets['ls-3']!)).toBe(0);
    for (let i = 0; i < 3; i++) expect(await attempt(port, '127.0.0.3', `scan-${i}`, 'x')).toBe(4);
    const hashed = sb.auth.stats.hashChecks;

    // Backing off: every id from that address is refused unhashed, even a right secret never seen there.
    expect(await attempt(port, '127.0.0.3', 'scan-9', 'x')).toBe(5);
    expect(await attempt(port, '127.0.0.3', 'ls-2', secrets['ls-2']!)).toBe(5);
    expect(sb.auth.stats.hashChecks).toBe(hashed);
    expect(await attempt(port, '127.0.0.3', 'ls-3', secrets['ls-3']!)).toBe(0);
    // Other addresses are not affected.
    expect(await attempt(port, '127.0.0.1', 'ls-2', secrets['ls-2']!)).toBe(0);

    // First wait 1 s; after it one more guess is looked at, fails, and the wait doubles.
    now += 1_001;
    expect(await attempt(port, '127.0.0.3', 'scan-10', 'x')).toBe(4);
    now += 1_001;
    expect(await attempt(port, '127.0.0.3', 'scan-11', 'x')).toBe(5);
    now += 1_000;
    expect(await attempt(port, '127.0.0.3', 'scan-11', 'x')).toBe(4);
    expect(sb.auth.stats.addressBackoffs).toBe(3);

    // A quiet spell of two lockout periods forgets the address.
    now += 121_000;
    expect(await attempt(port, '127.0.0.3', 'ls-2', secrets['ls-2']!)).toBe(0);
  });
});

describe('the verification budget', () => {
  it('refuses with CONNACK 3 (server unavailable) once checksPerS is spent, without hashing', async () => {
    let now = 3_000_000;
    const sb = await broker({ checksPerS: 2, clock: { now: () => now } });
    const port = sb.broker.port;
    expect(await attempt(port, '127.0.0.1', 'ls-1', secrets['ls-1']!)).toBe(0);
    expect(await attempt(port, '127.0.0.4', 'ls-2', 'wrong')).toBe(4);
    expect(sb.auth.stats.hashChecks).toBe(2);
    expect(await attempt(port, '127.0.0.4', 'ls-2', secrets['ls-2']!)).toBe(3);
    expect(await attempt(port, '127.0.0.5', 'ls-3', secrets['ls-3']!)).toBe(3);
    expect(sb.auth.stats.refused.busy).toBe(2);
    expect(sb.auth.stats.hashChecks).toBe(2);
    // A busy refusal is the server's, not the client's: it adds no failure to the pair.
    expect(sb.auth.stats.lockouts).toBe(0);
    // A pair that proved itself is not held back by a flood it did not cause.
    expect(await attempt(port, '127.0.0.1', 'ls-1', secrets['ls-1']!)).toBe(0);
    // The bucket refills with time.
    now += 1_000;
    expect(await attempt(port, '127.0.0.5', 'ls-3', secrets['ls-3']!)).toBe(0);
  });

  it('bounds scrypt for human users by slowChecksPerS', async () => {
    let now = 4_000_000;
    const sb = await broker({
      slowChecksPerS: 1,
      clock: { now: () => now },
      users: [
        {
          username: 'dispatch',
          scrypt: await hashSecret('dispatch-pw', FAST_SCRYPT),
          publish: [],
          subscribe: ['alerts/#'],
        },
      ],
    });
    const port = sb.broker.port;
    expect(await attempt(port, '127.0.0.1', 'd-1', 'dispatch-pw', 'dispatch')).toBe(0);
    expect(await attempt(port, '127.0.0.6', 'd-2', 'guess', 'dispatch')).toBe(3);
    expect(sb.auth.stats.slowChecks).toBe(1);
    // Devices (keyed hashes) are not held up by the scrypt budget.
    expect(await attempt(port, '127.0.0.6', 'ls-2', secrets['ls-2']!)).toBe(0);
    now += 1_000;
    expect(await attempt(port, '127.0.0.6', 'd-2', 'guess', 'dispatch')).toBe(4);
    expect(sb.auth.stats.slowChecks).toBe(2);
  });
});
