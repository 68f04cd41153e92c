import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisReferenceStore } from '../../adapters/redis/camera-references.js';
import { CameraSupervisor } from '../../adapters/rtsp/supervisor.js';
import type { SupervisedCamera } from '../../adapters/rtsp/types.js';
import { FAULT_RULES, type RtspSim, startRtspSim } from '../../simulators/rtsp/server.js';
import { alive, cameraRules, capturedLogger, Readings, until } from './supervisor-support.js';

/**
 * The supervisor against the camera simulator (real RTSP, real ffmpeg, real Redis): one camera per
 * fault, all switched at once after every camera has its reference, each checked against the
 * shipped rule (config/rules/camera.yaml) that should diagnose it.
 */
const PASSWORD = 'Pw:s3cr#t@cam';
const FAULT_RULE = FAULT_RULES;
const CAMERAS = ['ok', 'badpw', ...FAULT_RULE.map(([f]) => f)];

let sim: RtspSim;
let redis: Redis;
let sup: CameraSupervisor;
let faultAt = 0;
const prefix = `test:sup:${process.pid}:${Date.now()}:`;
const readings = new Readings();
const log = capturedLogger();
const rules = cameraRules();

const camera = (id: string): SupervisedCamera => ({
  id,
  url: sim.url(id === 'badpw' ? 'ok' : id, 'main'),
  subUrl: sim.url(id === 'badpw' ? 'ok' : id, 'sub'),
  username: 'admin',
  password: id === 'badpw' ? `${PASSWORD}-wrong` : PASSWORD,
  transport: 'tcp',
});

beforeAll(async () => {
  sim = await startRtspSim({
    cameras: CAMERAS.filter((c) => c !== 'badpw'),
    username: 'admin',
    password: PASSWORD,
  });
  redis = new Redis(inject('redisUrl'));
  sup = new CameraSupervisor({
    ffmpeg: 'ffmpeg',
    maxProcesses: 40,
    statsIntervalS: 1,
    stallS: 4,
    connectTimeoutS: 3,
    backoff: { initialS: 0.5, maxS: 2 },
    references: new RedisReferenceStore(redis, { prefix }),
    onReading: readings.onReading,
    logger: log.logger,
  });
  sup.sync(CAMERAS.map(camera));
  await sup.start();
  // Commissioning: every healthy camera takes its reference from its first good keyframe.
  await until(
    'a reference and scene measures on every camera',
    () =>
      CAMERAS.every((c) => c === 'badpw' || readings.of(c).some((r) => r.fields.scene_ssim !== undefined)),
    30_000,
  );
  faultAt = Date.now();
  await Promise.all(FAULT_RULE.map(([f]) => sim.fault(f, f)));
}, 60_000);

afterAll(async () => {
  await sup?.stop();
  await sim?.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('camera supervisor against the RTSP simulator', () => {
  it.each(FAULT_RULE)('%s is diagnosed by %s', async (fault, rule) => {
    const cond = rules.get(rule);
    expect(cond).toBeDefined();
    const hit = await until(`${rule} on camera ${fault}`, () => readings.find(fault, faultAt, cond as never));
    expect(hit.fields).toBeDefined();
  });

  it('the ok camera reports online, fps, bit rate and every picture measure, and no rule fires', async () => {
    // A run's first readings come before its first rate or keyframe (a restart under a loaded
    // machine starts one), so only readings that carry the picture measures must carry them all.
    const full = () => readings.of('ok').filter((r) => r.at > faultAt && r.fields.luma_avg !== undefined);
    await until('readings with picture measures after the faults', () => full().length >= 3);
    const after = readings.of('ok').filter((r) => r.at > faultAt);
    for (const r of after) {
      expect(r.fields.online).toBe(1);
      const fired = [...rules].filter(([, cond]) => cond(r.fields)).map(([id]) => id);
      expect(fired, JSON.stringify(r.fields)).toEqual([]);
    }
    for (const r of full()) {
      expect(Object.keys(r.fields).sort()).toEqual(
        [
          'bitrate_kbps',
          'cast_level',
          'flat_pct',
          'fps',
          'luma_avg',
          'luma_std',
          'motion_pct',
          'online',
          'scene_ssim',
          'sharpness_ratio',
        ].sort(),
      );
      expect(r.fields.fps).toBeGreaterThan(5); // the simulator sends 10 fps
      expect(r.fields.bitrate_kbps).toBeGreaterThan(10);
    }
  });

  it('a lost stream reports online 0 every interval, retries with doubling delays, and recovers', async () => {
    await until(
      'online 0 readings',
      () => readings.of('offline').filter((r) => r.at > faultAt && r.fields.online === 0).length >= 3,
    );
    const zeros = readings.of('offline').filter((r) => r.at > faultAt && r.fields.online === 0);
    expect(zeros.every((r) => Object.keys(r.fields).length === 1)).toBe(true);
    const retries = await until('three retries of the offline camera', () => {
      const delays = log.lines
        .map((l) => JSON.parse(l) as { camera?: string; retryInS?: number })
        .filter((l) => l.camera === 'offline' && l.retryInS !== undefined)
        .map((l) => l.retryInS);
      return delays.length >= 3 && delays;
    });
    expect(retries.slice(0, 3)).toEqual([0.5, 1, 2]);
    expect(sup.status('offline')).toMatchObject({ state: 'offline' });
    await Promise.all([sim.fault('offline', 'ok'), sim.fault('stall', 'ok')]);
    const back = Date.now();
    for (const id of ['offline', 'stall']) {
      await until(`${id} back online`, () => readings.find(id, back, (f) => f.online === 1));
      expect(sup.status(id)?.restarts).toBeGreaterThan(0);
    }
  });

  it('refreshReference makes the turned scene the reference', async () => {
    await until('turned diagnosed first', () =>
      readings.find('turned', faultAt, (f) => (f.scene_ssim ?? 1) < 0.45),
    );
    const { at } = await sup.refreshReference('turned');
    expect(sup.status('turned')?.referenceAt).toBe(at);
    await until('scene_ssim high again', () =>
      readings.find('turned', at + 1, (f) => (f.scene_ssim ?? 0) > 0.8),
    );
    const stored = await new RedisReferenceStore(redis, { prefix }).get('turned');
    expect(stored?.at).toBe(at);
    expect([stored?.width, stored?.height]).toEqual([160, 90]);
  });

  it('snapshots: a JPEG from the running analysis, GG_ERR_CAMERA_UNAVAILABLE from a dead camera', async () => {
    const snap = await sup.snapshot('ok', 5000);
    expect([snap.jpeg[0], snap.jpeg[1], snap.jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xd9]);
    expect(Date.now() - snap.at).toBeLessThan(10_000);
    const err = (await sup.snapshot('badpw', 5000).catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('GG_ERR_CAMERA_UNAVAILABLE');
    expect(err.message).toContain('401');
    expect(err.message).not.toContain(PASSWORD);
    await expect(sup.snapshot('nope', 5000)).rejects.toMatchObject({ code: 'GG_ERR_CAMERA_UNAVAILABLE' });
  });

  it('no password in any log line or status, though ffmpeg reported the failed login', async () => {
    await until('the wrong password reported', () => sup.status('badpw')?.lastError?.includes('401'));
    expect(sup.status('badpw')?.lastError).not.toContain(PASSWORD);
    expect(log.lines.some((l) => l.includes('401'))).toBe(true);
    for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), 'Pw%3As3cr']) {
      expect(log.lines.filter((l) => l.includes(secret))).toEqual([]);
      for (const s of sup.statuses()) expect(JSON.stringify(s)).not.toContain(secret);
    }
  });

  it('stop() leaves no ffmpeg behind', async () => {
    const pids = sup.pids();
    expect(pids.length).toBeGreaterThan(5);
    await sup.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(sup.processCount()).toBe(0);
  });
});
