import { connect, connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SecuredBroker, type SecurityEnv, securedBroker, securityEnv, waitFor } from './support.js';

let env: SecurityEnv;
let secrets: Record<string, string>;
const brokers: SecuredBroker[] = [];

beforeAll(async () => {
  env = await securityEnv(inject('redisUrl'));
  secrets = await env.addDevices(['fg-1', 'fg-2']);
});
afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  await env?.close();
});

async function attempt(port: number, clientId: string, password: string): Promise<number> {
  try {
    const c = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId,
      username: clientId,
      password,
      reconnectPeriod: 0,
    });
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('failed-login throttling', () => {
  it('locks an (address, client id) pair after maxFailures, refuses it without hashing, and lets it in after lockoutS', async () => {
    let now = 1_000_000;
    const sb = await securedBroker(env, { maxFailures: 3, lockoutS: 60, clock: { now: () => now } });
    brokers.push(sb);
    const port = sb.broker.port;
    for (let i = 0; i < 3; i++) expect(await attempt(port, 'fg-1', 'guess')).toBe(4);
    expect(sb.auth.stats.lockouts).toBe(1);
    const hashed = sb.auth.stats.hashChecks;
    expect(hashed).toBe(3);

    // Locked: even the right secret is refused (5, not authorized) and no scrypt runs.
    for (let i = 0; i < 5; i++) expect(await attempt(port, 'fg-1', secrets['fg-1']!)).toBe(5);
    expect(sb.auth.stats.refused.locked_out).toBe(5);
    expect(sb.auth.stats.hashChecks).toBe(hashed);

    // Another device from the same address is not affected by fg-1's lock.
    expect(await attempt(port, 'fg-2', secrets['fg-2']!)).toBe(0);

    now += 61_000;
    expect(await attempt(port, 'fg-1', secrets['fg-1']!)).toBe(0);
    expect(sb.auth.stats.accepted.device).toBe(2);
  });

  it('backs off an address that keeps failing under many client ids', async () => {
    // A fixed clock: the first backoff step (1 s) must not run out between the last guess and the check.
    const now = 1_000_000;
    const sb = await securedBroker(env, {
      maxFailures: 100,
      maxFailuresPerAddress: 4,
      lockoutS: 60,
      clock: { now: () => now },
    });
    brokers.push(sb);
    for (let i = 0; i < 4; i++) expect(await attempt(sb.broker.port, `scan-${i}`, 'x')).toBe(4);
    expect(await attempt(sb.broker.port, 'fg-2', secrets['fg-2']!)).toBe(5);
    expect(sb.auth.stats.refused.unknown_device).toBe(4);
    expect(sb.auth.stats.refused.locked_out).toBe(1);
  });
});

describe('connections per address', () => {
  it('closes connections beyond maxConnectionsPerIp on accept and counts them', async () => {
    const sb = await securedBroker(env, {}, { maxConnectionsPerIp: 2 });
    brokers.push(sb);
    const url = `mqtt://127.0.0.1:${sb.broker.port}`;
    const a = await connectAsync(url, {
      clientId: 'fg-1',
      username: 'fg-1',
      password: secrets['fg-1'],
      reconnectPeriod: 0,
    });
    const b = await connectAsync(url, {
      clientId: 'fg-2',
      username: 'fg-2',
      password: secrets['fg-2'],
      reconnectPeriod: 0,
    });
    const c = connect(url, { clientId: 'fg-3', reconnectPeriod: 0, connectTimeout: 5000 });
    let connected = false;
    c.on('connect', () => {
      connected = true;
    });
    c.on('error', () => undefined);
    await new Promise<void>((resolve) => c.once('close', () => resolve()));
    expect(connected).toBe(false);
    expect(sb.broker.stats.connectionsRefused).toBe(1);
    expect(sb.auth.stats.accepted.device).toBe(2);

    // A slot frees when a connection closes.
    c.end(true);
    await a.endAsync();
    await waitFor('slot freed', () => sb.broker.connectedClients === 1);
    const d = await connectAsync(url, {
      clientId: 'fg-1',
      username: 'fg-1',
      password: secrets['fg-1'],
      reconnectPeriod: 0,
    });
    expect(d.connected).toBe(true);
    await Promise.all([b.endAsync(), d.endAsync()]);
  });
});
