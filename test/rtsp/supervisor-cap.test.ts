import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisReferenceStore } from '../../adapters/redis/camera-references.js';
import { CameraSupervisor } from '../../adapters/rtsp/supervisor.js';
import type { SupervisedCamera } from '../../adapters/rtsp/types.js';
import { alive, capturedLogger, until } from './supervisor-support.js';

let redis: Redis;
const prefix = `test:supcap:${process.pid}:${Date.now()}:`;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

// Nothing listens on port 1: each analysis fails to connect and retries, holding its slot.
const cam = (id: string, path = id): SupervisedCamera => ({
  id,
  url: `rtsp://127.0.0.1:1/${path}`,
  transport: 'tcp',
});

describe('process cap', () => {
  it('refuses cameras past maxProcesses with one clear log line, starts them when a slot frees', async () => {
    const log = capturedLogger('info');
    const sup = new CameraSupervisor({
      ffmpeg: 'ffmpeg',
      maxProcesses: 2,
      statsIntervalS: 1,
      stallS: 4,
      connectTimeoutS: 1,
      backoff: { initialS: 0.2, maxS: 1 },
      references: new RedisReferenceStore(redis, { prefix }),
      onReading: () => {},
      logger: log.logger,
    });
    sup.sync([cam('a'), cam('b'), cam('c'), cam('d')]);
    await sup.start();
    expect(sup.status('c')?.state).toBe('capped');
    expect(sup.status('c')?.lastError).toMatch(/GG_ERR_CAMERA_CAP.*raise cameras\.maxProcesses/);
    const capLines = log.lines.filter((l) => l.includes('GG_ERR_CAMERA_CAP'));
    expect(capLines).toHaveLength(1);
    expect(capLines[0]).toContain('raise cameras.maxProcesses');
    expect(sup.processCount()).toBe(2);
    expect(() => sup.acquireProcess('live view of a')).toThrow(
      expect.objectContaining({ code: 'GG_ERR_CAMERA_CAP' }),
    );

    // A changed camera keeps its slot (no cap error) and restarts with the new settings.
    const oldPid = await until('a running analysis of a', () => sup.status('a')?.pid);
    sup.sync([cam('a', 'moved'), cam('b'), cam('c'), cam('d')]);
    await until('a restarted', () => {
      const p = sup.status('a')?.pid;
      return p !== undefined && p !== oldPid;
    });
    expect(log.lines.filter((l) => l.includes('GG_ERR_CAMERA_CAP'))).toHaveLength(1);

    // A second change while the first still waits for the old process to exit: the last settings
    // run, in the same slot.
    sup.sync([cam('a', 'again'), cam('b'), cam('c'), cam('d')]);
    sup.sync([cam('a', 'last'), cam('b'), cam('c'), cam('d')]);
    await until('a on its last settings', () => sup.status('a')?.lastError?.includes('127.0.0.1:1/last'));
    expect(log.lines.filter((l) => l.includes('GG_ERR_CAMERA_CAP'))).toHaveLength(1);
    expect(sup.processCount()).toBe(2);

    // Removing b frees a slot for c (registry order), not d.
    sup.sync([cam('a', 'moved'), cam('c'), cam('d')]);
    await until('c started', () => sup.status('c')?.state !== 'capped');
    expect(sup.status('d')?.state).toBe('capped');
    expect(sup.processCount()).toBe(2);

    // A camera that never connects reports online 0 and its scrubbed connection error.
    await until('c offline with its error', () => sup.status('c')?.lastError?.includes('Connection refused'));
    const pids = sup.pids();
    await sup.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(sup.processCount()).toBe(0);
  });
});

describe('RedisReferenceStore', () => {
  it('stores, reads back and deletes a reference; ignores a damaged one', async () => {
    const store = new RedisReferenceStore(redis, { prefix });
    expect(await store.get('cam-1')).toBeUndefined();
    const y = Uint8Array.from({ length: 160 * 90 }, (_, i) => (i * 7) % 256);
    await store.put('cam-1', { width: 160, height: 90, y, sharpness: 123.5, at: 1_700_000_000_000 });
    expect(await redis.exists(`${prefix}camera:ref:cam-1`)).toBe(1);
    const back = await store.get('cam-1');
    expect(back).toMatchObject({ width: 160, height: 90, sharpness: 123.5, at: 1_700_000_000_000 });
    expect(Buffer.from(back?.y ?? []).equals(Buffer.from(y))).toBe(true);

    await redis.hset(`${prefix}camera:ref:cam-2`, { width: '160', height: '90', y: 'short' });
    expect(await store.get('cam-2')).toBeUndefined();

    await store.delete('cam-1');
    expect(await store.get('cam-1')).toBeUndefined();
  });
});
