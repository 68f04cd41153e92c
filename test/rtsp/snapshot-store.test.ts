import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  isSnapshotName,
  SnapshotStore,
  type SnapshotStoreOptions,
} from '../../adapters/rtsp/snapshot-store.js';
import { GridgateError } from '../../processors/errors.js';

const quiet = pino({ level: 'silent' });
const MIB = 1024 * 1024;
const HOUR = 3600_000;

/** A real JPEG from real ffmpeg (a test pattern frame), `size` e.g. 320x180. */
function ffmpegJpeg(size: string): Buffer {
  return execFileSync(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', `testsrc=s=${size}`, '-frames:v', '1', '-f', 'mjpeg', '-'],
    { maxBuffer: 16 * MIB },
  );
}

function probeWidth(path: string): number {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,codec_name',
    '-of',
    'json',
    path,
  ]).toString();
  const s = (JSON.parse(out) as { streams: { width: number; codec_name: string }[] }).streams[0]!;
  expect(s.codec_name).toBe('mjpeg');
  return s.width;
}

let jpeg: Buffer;
const dirs: string[] = [];
const stores: SnapshotStore[] = [];

beforeAll(() => {
  jpeg = ffmpegJpeg('320x180');
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'gg-snap-'));
  dirs.push(base);
  return join(base, 'snapshots');
}

async function open(opts: Partial<SnapshotStoreOptions> & { dir: string }): Promise<SnapshotStore> {
  const s = new SnapshotStore({ maxAgeH: 24, maxMB: 100, logger: quiet, ...opts });
  stores.push(s);
  await s.start();
  return s;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof GridgateError ? err.code : `not a GridgateError: ${String(err)}`;
  }
  return 'resolved';
}

describe('SnapshotStore', () => {
  it('stores a real JPEG in a private folder (0700) as a private file (0600) and reads it back by its URL name', async () => {
    const dir = await freshDir();
    const store = await open({ dir });
    const at = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const saved = await store.save('cam-01', jpeg, at);
    expect(saved.url).toBe(`/api/v1/snapshots/${saved.file}`);
    expect(saved.file).toMatch(/^cam-01-20300102T030405678Z-[0-9a-f]{32}\.jpg$/);
    expect(isSnapshotName(saved.file)).toBe(true);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, saved.file))).mode & 0o777).toBe(0o600);
    const back = await store.read(saved.file);
    expect(back.equals(jpeg)).toBe(true);
    expect(probeWidth(join(dir, saved.file))).toBe(320);
    // Two grabs of the same camera in the same millisecond still get different, unguessable names.
    const again = await store.save('cam-01', jpeg, at);
    expect(again.file).not.toBe(saved.file);
    expect(store.stats()).toEqual({ files: 2, bytes: 2 * jpeg.length });
    // No temporary file is left behind.
    expect((await readdir(dir)).sort()).toEqual([saved.file, again.file].sort());
  });

  it('keeps a camera id that is not a safe file name inside one path segment', async () => {
    const dir = await freshDir();
    const store = await open({ dir });
    const saved = await store.save('../../etc/cam 1', jpeg, Date.now());
    expect(saved.file).not.toContain('/');
    expect(saved.file.startsWith('______etc_cam_1-')).toBe(true);
    expect((await readdir(dir)).includes(saved.file)).toBe(true);
    expect((await store.read(saved.file)).length).toBe(jpeg.length);
  });

  it('refuses names that are not snapshot names (400) and unknown ones (404) without touching other files', async () => {
    const dir = await freshDir();
    const store = await open({ dir });
    const secret = join(dir, '..', 'secret.jpg');
    await writeFile(secret, 'not for you');
    for (const bad of [
      '../secret.jpg',
      '..',
      'secret.jpg',
      '%2e%2e%2fsecret.jpg',
      `cam-1-20300102T030405678Z-${'a'.repeat(32)}.jpg/../../secret.jpg`,
      `cam/1-20300102T030405678Z-${'a'.repeat(32)}.jpg`,
      `cam-1-20300102T030405678Z-${'A'.repeat(32)}.jpg`,
      '',
    ]) {
      expect(await codeOf(store.read(bad)), bad).toBe('GG_ERR_BAD_REQUEST');
    }
    expect(await codeOf(store.read(`cam-1-20300102T030405678Z-${'a'.repeat(32)}.jpg`))).toBe(
      'GG_ERR_NOT_FOUND',
    );
  });

  it('deletes the oldest files first when the total passes maxMB, never the file just written', async () => {
    const dir = await freshDir();
    // Room for two and a half pictures.
    const store = await open({ dir, maxMB: (2.5 * jpeg.length) / MIB });
    const files: string[] = [];
    for (let i = 0; i < 5; i++) files.push((await store.save(`cam-${i}`, jpeg, Date.now())).file);
    expect((await readdir(dir)).sort()).toEqual(files.slice(3).sort());
    expect(store.stats()).toEqual({ files: 2, bytes: 2 * jpeg.length });
    expect(await codeOf(store.read(files[0]!))).toBe('GG_ERR_NOT_FOUND');
    expect((await store.read(files[4]!)).equals(jpeg)).toBe(true);

    // A limit below one picture keeps the newest (its URL is about to go out in an event), nothing else.
    const tight = await open({ dir: await freshDir(), maxMB: (0.5 * jpeg.length) / MIB });
    await tight.save('a', jpeg, Date.now());
    const b = await tight.save('b', jpeg, Date.now());
    expect(tight.stats().files).toBe(1);
    expect((await tight.read(b.file)).length).toBe(jpeg.length);
  });

  it('deletes files older than maxAgeH on the next write and on its timer (fake clock)', async () => {
    const dir = await freshDir();
    let now = Date.UTC(2030, 5, 1);
    const store = await open({ dir, maxAgeH: 2, now: () => now, sweepIntervalMs: 20 });
    const first = await store.save('cam-a', jpeg, now);
    now += HOUR;
    const second = await store.save('cam-a', jpeg, now);
    now += HOUR + 1; // first is now 2 h + 1 ms old, second 1 h + 1 ms
    const third = await store.save('cam-b', jpeg, now);
    expect((await readdir(dir)).sort()).toEqual([second.file, third.file].sort());

    // No write now: the timer alone must age out `second`.
    now += HOUR;
    const deadline = Date.now() + 10_000;
    while (existsSync(join(dir, second.file)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(await readdir(dir)).toEqual([third.file]);
    expect(store.stats()).toEqual({ files: 1, bytes: jpeg.length });
    expect(first.file).not.toBe(third.file);
  });

  it('after a restart, counts and ages what an earlier run stored, and removes half-written files', async () => {
    const dir = await freshDir();
    const now = Date.now();
    const before = await open({ dir, maxAgeH: 1 });
    const old = await before.save('cam-1', jpeg, now);
    const kept = await before.save('cam-2', jpeg, now);
    const big = ffmpegJpeg('1280x720');
    const large = await before.save('cam-3', big, now);
    await before.stop();
    // The first file was written 2 h ago (mtime is what a restart ages by).
    await utimes(join(dir, old.file), (now - 2 * HOUR) / 1000, (now - 2 * HOUR) / 1000);
    const tmp = `.cam-4-20300102T030405678Z-${'b'.repeat(32)}.jpg.tmp`;
    await writeFile(join(dir, tmp), jpeg.subarray(0, 100));
    await writeFile(join(dir, 'README.txt'), 'not a snapshot');

    // Room for `kept` and `large` only if the old one goes; it goes by age anyway.
    const after = await open({ dir, maxAgeH: 1, maxMB: (jpeg.length + big.length + 10) / MIB });
    expect(after.stats()).toEqual({ files: 2, bytes: jpeg.length + big.length });
    expect((await readdir(dir)).sort()).toEqual([kept.file, large.file, 'README.txt'].sort());
    expect((await after.read(kept.file)).equals(jpeg)).toBe(true);
    expect(await codeOf(after.read(old.file))).toBe('GG_ERR_NOT_FOUND');

    // The next write pushes the total over maxMB: the oldest of the scanned files goes first.
    const next = await after.save('cam-5', jpeg, Date.now());
    expect((await readdir(dir)).sort()).toEqual([large.file, next.file, 'README.txt'].sort());
  });

  it('closes a folder that others could read (mode 0755 becomes 0700)', async () => {
    const dir = await freshDir();
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    await open({ dir });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });
});
