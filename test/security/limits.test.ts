import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DeviceRateLimiter } from '../../processors/limits/device-rate-limiter.js';
import { TokenBucket } from '../../processors/limits/token-bucket.js';
import type { InboundMessage } from '../../processors/types.js';
import {
  mosquitto,
  type SecuredBroker,
  type SecurityEnv,
  securedBroker,
  securityEnv,
  waitFor,
} from './support.js';

describe('TokenBucket', () => {
  it('allows a burst, then the sustained rate, and never more than the burst after a pause', () => {
    const b = new TokenBucket({ ratePerS: 10, burst: 5 }, 0);
    let ok = 0;
    for (let i = 0; i < 20; i++) if (b.take(0)) ok++;
    expect(ok).toBe(5);
    expect(b.take(50)).toBe(false); // half a token
    expect(b.take(100)).toBe(true); // one token per 100 ms
    expect(b.available(1_000_000)).toBe(5);
    expect(b.isFull(1_000_000)).toBe(true);
  });

  it('does not mint tokens when the clock steps back', () => {
    const b = new TokenBucket({ ratePerS: 1, burst: 1 }, 10_000);
    expect(b.take(10_000)).toBe(true);
    expect(b.take(5_000)).toBe(false);
    expect(b.take(10_500)).toBe(false);
    expect(b.take(11_000)).toBe(true);
  });

  it('rejects a rate or burst that cannot work', () => {
    expect(() => new TokenBucket({ ratePerS: 0, burst: 1 }, 0)).toThrow(RangeError);
    expect(() => new DeviceRateLimiter({ ratePerS: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('DeviceRateLimiter', () => {
  it('throttles and flags only the device over its rate, with counts and first/last times', () => {
    const flaggedAt: string[] = [];
    const lim = new DeviceRateLimiter({ ratePerS: 1, burst: 3, onFlag: (id) => flaggedAt.push(id) });
    const results = Array.from({ length: 10 }, (_, i) => lim.admit('noisy', 1000 + i));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(lim.admit('quiet', 1010)).toBe(true);
    expect(lim.flagged()).toEqual([{ deviceId: 'noisy', throttled: 7, firstAt: 1003, lastAt: 1009 }]);
    expect(flaggedAt).toEqual(['noisy']);
    expect(lim.stats()).toMatchObject({ admitted: 4, throttled: 7, devices: 2, flagged: 1 });
    expect(lim.unflag('noisy')).toBe(true);
    expect(lim.flagged()).toEqual([]);
  });

  it('keeps memory bounded: idle buckets are swept, and at most maxFlagged flags are kept', () => {
    const lim = new DeviceRateLimiter({ ratePerS: 10, burst: 1, maxDevices: 100, maxFlagged: 10 });
    for (let i = 0; i < 1000; i++) lim.admit(`d${i}`, i * 1000); // each refilled before the next arrives
    expect(lim.stats().devices).toBeLessThanOrEqual(100);
    expect(lim.stats().evictedBusy).toBe(0);
    for (let i = 0; i < 50; i++) {
      lim.admit(`f${i}`, 2_000_000);
      lim.admit(`f${i}`, 2_000_000);
    }
    expect(lim.stats().devices).toBeLessThanOrEqual(100);
    expect(lim.flagged()).toHaveLength(10);
    expect(lim.flagged()[0]?.deviceId).toBe('f49');
  });
});

describe('a flooding device beside well-behaved ones', () => {
  let env: SecurityEnv;
  let sb: SecuredBroker;
  let secrets: Record<string, string>;
  const admitted: InboundMessage[] = [];
  let throttled = 0;
  // The clock stands still: the flooder gets exactly its burst, whatever the machine's speed.
  const limiter = new DeviceRateLimiter({ ratePerS: 20, burst: 100, clock: { now: () => 5_000_000 } });

  beforeAll(async () => {
    env = await securityEnv(inject('redisUrl'));
    secrets = await env.addDevices(['flood-1', 'good-1', 'good-2', 'good-3']);
    sb = await securedBroker(
      env,
      {},
      {
        // Wired as the gateway does: admit before the pipeline; a refused message is rate_limited.
        onMessage: (m) => {
          if (limiter.admit(m.deviceId)) admitted.push(m);
          else throttled++;
        },
      },
    );
  });
  afterAll(async () => {
    await sb?.stop();
    await env?.close();
  });

  it('throttles and flags the flooder; every message of the others arrives', async () => {
    const port = String(sb.broker.port);
    const FLOOD = 3000;
    const lines = `${Array.from({ length: FLOOD }, (_, i) => `{"ts":1767225600,"wl":${i}}`).join('\n')}\n`;
    // Real mosquitto_pub, one message per stdin line.
    const flood = mosquitto(
      'mosquitto_pub',
      [
        '-p',
        port,
        '-i',
        'flood-1',
        '-u',
        'flood-1',
        '-P',
        secrets['flood-1']!,
        '-t',
        'devices/flood-1/telemetry',
        '-l',
        '-q',
        '1',
      ],
      lines,
      60_000,
    );
    const PER_GOOD = 60;
    const good = ['good-1', 'good-2', 'good-3'].map(async (id) => {
      const c = await connectAsync(`mqtt://127.0.0.1:${port}`, {
        clientId: id,
        username: id,
        password: secrets[id],
        reconnectPeriod: 0,
      });
      for (let i = 0; i < PER_GOOD; i++)
        await c.publishAsync(`devices/${id}/telemetry`, `{"ts":1767225600,"wl":${i}}`, { qos: 1 });
      await c.endAsync();
    });
    await Promise.all(good);
    expect((await flood).code).toBe(0);
    await waitFor('all messages', () => admitted.length + throttled === FLOOD + 3 * PER_GOOD, 30_000);

    for (const id of ['good-1', 'good-2', 'good-3']) {
      const got = admitted.filter((m) => m.deviceId === id).map((m) => JSON.parse(m.payload.toString()).wl);
      expect(got).toEqual(Array.from({ length: PER_GOOD }, (_, i) => i));
    }
    expect(admitted.filter((m) => m.deviceId === 'flood-1')).toHaveLength(100);
    expect(throttled).toBe(FLOOD - 100);
    expect(limiter.flagged()).toEqual([
      { deviceId: 'flood-1', throttled: FLOOD - 100, firstAt: 5_000_000, lastAt: 5_000_000 },
    ]);
  });
});
