import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisIncidentStore } from '../../adapters/redis/incident-store.js';
import { freePort, type RunningService, startRedis } from '../../scripts/services.js';
import { waitFor } from '../adapters/support.js';
import { device, engine, MIN, reading, rules, T0 } from './helpers.js';

const RULES = rules(`
rules:
  - id: flood.level
    name: 水位超警戒
    condition: "water_level_m >= device.attrs.warning_level_m"
    severity: yellow
    for: 2m
`);

describe('incident state while Redis is down', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('changes made during the outage are kept and saved once Redis is back; a restart then sees them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-redis-outage-'));
    const port = await freePort();
    let server: RunningService = await startRedis(dir, port);
    cleanups.push(() => server.stop());
    // Fail fast while Redis is away, as the gateway's own connection does after its retries.
    const redis = new Redis(server.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 100,
    });
    cleanups.push(() => redis.disconnect());
    await waitFor('the client to connect', () => redis.status === 'ready');
    const prefix = `outage:${randomUUID()}:`;
    const store = new RedisIncidentStore(redis, { prefix });
    const d = device();
    const { e, sink } = await engine(RULES, { store });

    server.proc.kill('SIGKILL');
    await waitFor('the client to notice', () => redis.status !== 'ready');
    for (let i = 0; i <= 3; i++) e.write(reading(d, T0 + i * MIN, { water_level_m: 2.7 }), d);
    // Its save failed: the firing goes out anyway (the dispatcher's outbox keeps it).
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:yellow']);
    await e.flush();
    await e.flush();
    expect(e.stats.saveFailures).toBeGreaterThanOrEqual(2);

    server = await startRedis(dir, port);
    await waitFor('the client to reconnect', () => redis.status === 'ready', 10_000);
    await e.flush();
    const snap = await store.load();
    expect(snap.incidents).toHaveLength(1);
    expect(snap.incidents[0]).toMatchObject({ ruleId: 'flood.level', phase: 'firing' });
    expect(snap.lastSeen[d.id]).toBe(T0 + 3 * MIN);

    // A gateway started now does not fire the incident again, and resolves it.
    const next = await engine(RULES, { store });
    next.e.write(reading(d, T0 + 4 * MIN, { water_level_m: 1.0 }), d);
    await next.e.drain();
    expect(next.sink.types()).toEqual(['alert.resolved:yellow']);
  });
});
