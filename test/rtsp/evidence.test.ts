import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SnapshotStore } from '../../adapters/rtsp/snapshot-store.js';
import type { AlertEvent, AlertEventType, AlertSink } from '../../processors/alerts/event.js';
import {
  camerasForEvent,
  EvidenceSink,
  type EvidenceSinkOptions,
  type SnapshotSource,
  scrub,
} from '../../processors/alerts/evidence.js';
import { validateAlertEvent } from '../../processors/alerts/validate.js';
import { GridgateError } from '../../processors/errors.js';
import { CameraIndex } from '../../processors/registry/camera.js';
import type { Device } from '../../processors/types.js';
import { testJpeg } from './jpeg-fixture.js';

const quiet = pino({ level: 'silent' });
const LOCATION = { district: '浦东新区', street: '花木街道', community: '锦绣社区', grid: 'G01' };

const jpeg = testJpeg();

function event(incident: string, type: AlertEventType, seq: number, device = 'gauge-1'): AlertEvent {
  const at = new Date(Date.UTC(2030, 0, 1, 8, 0, seq)).toISOString();
  return {
    schema: 'gridgate.alert/v1',
    id: `${incident}.${type.slice(6)}.${seq}`,
    incidentId: incident,
    type,
    rule: { id: 'flood-level', name: 'Flood level' },
    severity: 'yellow',
    device: { id: device, family: 'flood', model: 'acme-wl100', location: LOCATION },
    location: LOCATION,
    metric: 'water_level_m',
    value: 2.61,
    threshold: 2.5,
    unit: 'm',
    startedAt: new Date(Date.UTC(2030, 0, 1, 8)).toISOString(),
    at,
    ...(type === 'alert.resolved' ? { resolvedAt: at } : {}),
    summary: { zh: '积水 2.61 m', en: 'Water level 2.61 m' },
    evidence: [],
  };
}

/** Records what reaches it, in order. */
class Recorder implements AlertSink {
  readonly got: AlertEvent[] = [];
  async emit(e: AlertEvent): Promise<void> {
    this.got.push(e);
  }
  ids(): string[] {
    return this.got.map((e) => e.id);
  }
}

/** A camera whose grabs the test answers by hand. */
class ManualCameras {
  readonly calls: { camera: string; timeoutMs: number }[] = [];
  private readonly waiting = new Map<
    string,
    { resolve: (v: { jpeg: Buffer; at: number }) => void; reject: (e: unknown) => void }[]
  >();
  readonly source: SnapshotSource = (camera, timeoutMs) => {
    this.calls.push({ camera, timeoutMs });
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(camera) ?? [];
      list.push({ resolve, reject });
      this.waiting.set(camera, list);
    });
  };
  /** Answer the oldest waiting grab of `camera` (or the newest). */
  give(camera: string, at: number, which: 'oldest' | 'newest' = 'oldest'): void {
    this.take(camera, which).resolve({ jpeg, at });
  }
  fail(camera: string, err: unknown, which: 'oldest' | 'newest' = 'oldest'): void {
    this.take(camera, which).reject(err);
  }
  private take(camera: string, which: 'oldest' | 'newest') {
    const list = this.waiting.get(camera);
    const w = which === 'oldest' ? list?.shift() : list?.pop();
    if (!w) throw new Error(`no grab of ${camera} is waiting`);
    return w;
  }
}

/** Let pending promise callbacks (and real fs work of the store) run. */
async function settle(until: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!until() && Date.now() < deadline) await new Promise((r) => setImmediate(r));
}

let base: string;
let store: SnapshotStore;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'gg-evidence-'));
  store = new SnapshotStore({ dir: join(base, 'snapshots'), maxAgeH: 24, maxMB: 50, logger: quiet });
  await store.start();
});
afterAll(async () => {
  await store.stop();
  await rm(base, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

function sink(
  over: Partial<EvidenceSinkOptions> & Pick<EvidenceSinkOptions, 'inner' | 'source'>,
): EvidenceSink {
  return new EvidenceSink({
    store: (camera, data, at) => store.save(camera, data, at),
    camerasFor: (e) => (e.device?.id === 'gauge-1' ? ['cam-1'] : []),
    waitMs: 2000,
    logger: quiet,
    ...over,
  });
}

describe('EvidenceSink', () => {
  it('holds a firing for its snapshot; the resolve of that incident waits behind it, other incidents do not', async () => {
    const inner = new Recorder();
    const cams = new ManualCameras();
    const s = sink({ inner, source: cams.source });
    const a = `flood-level.gauge-1-${randomUUID().slice(0, 6)}`;
    const b = `flood-level.gauge-2-${randomUUID().slice(0, 6)}`;

    const firing = s.emit(event(a, 'alert.firing', 1));
    const resolved = s.emit(event(a, 'alert.resolved', 2));
    // gauge-2 has no camera: through at once, in the same tick, untouched.
    const other = event(b, 'alert.firing', 3, 'gauge-2');
    void s.emit(other);
    expect(inner.ids()).toEqual([other.id]);
    expect(inner.got[0]).toBe(other);
    await settle(() => cams.calls.length > 0);
    // The source's own timeout is a little inside the wait, so its reason (not a bare timeout) can arrive.
    expect(cams.calls).toEqual([{ camera: 'cam-1', timeoutMs: 1800 }]);
    // Give other work a chance to run: the resolve must still be behind the firing.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(inner.ids()).toEqual([other.id]);

    const shotAt = Date.UTC(2030, 0, 1, 8, 0, 1, 500);
    cams.give('cam-1', shotAt);
    await Promise.all([firing, resolved]);
    expect(inner.ids()).toEqual([other.id, `${a}.firing.1`, `${a}.resolved.2`]);
    const fired = inner.got[1]!;
    expect(fired.evidence).toHaveLength(1);
    const entry = fired.evidence[0]!;
    expect(entry).toMatchObject({ kind: 'snapshot', camera: 'cam-1', at: new Date(shotAt).toISOString() });
    expect(entry.url).toMatch(/^\/api\/v1\/snapshots\/cam-1-20300101T080001500Z-[0-9a-f]{32}\.jpg$/);
    const file = entry.url!.split('/').pop()!;
    expect((await readFile(join(base, 'snapshots', file))).equals(jpeg)).toBe(true);
    // The resolve got no snapshot of its own, and the engine's event object was not mutated.
    expect(inner.got[2]!.evidence).toEqual([]);
    expect(validateAlertEvent(JSON.parse(JSON.stringify(fired)))).toEqual({
      ok: true,
      event: expect.anything(),
    });
    expect(s.stats()).toMatchObject({ events: 1, snapshots: 1, failed: 0, timedOut: 0 });
  });

  it('a grab that does not answer in waitMs becomes an error entry and the event goes out at the bound (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const inner = new Recorder();
    const cams = new ManualCameras();
    const saved: string[] = [];
    const s = sink({
      inner,
      source: cams.source,
      waitMs: 2000,
      camerasFor: () => ['cam-fast', 'cam-dead'],
      // The store is this sink's own interface; a recording one keeps the fake clock free of disk I/O.
      store: async (camera) => {
        saved.push(camera);
        return { url: `/api/v1/snapshots/${camera}.jpg` };
      },
    });
    const inc = `flood-level.gauge-1-${randomUUID().slice(0, 6)}`;
    const done = s.emit(event(inc, 'alert.firing', 1));
    const later = s.emit(event(inc, 'alert.resolved', 2));
    cams.give('cam-fast', Date.now());
    await vi.advanceTimersByTimeAsync(1999);
    expect(inner.got).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([done, later]);
    expect(inner.ids()).toEqual([`${inc}.firing.1`, `${inc}.resolved.2`]);
    const ev = inner.got[0]!;
    expect(ev.evidence).toEqual([
      { kind: 'snapshot', camera: 'cam-fast', at: expect.any(String), url: '/api/v1/snapshots/cam-fast.jpg' },
      {
        kind: 'snapshot',
        camera: 'cam-dead',
        at: new Date(Date.now()).toISOString(),
        error: 'no snapshot within 2000 ms (cameras.snapshots.waitMs)',
      },
    ]);
    expect(validateAlertEvent(JSON.parse(JSON.stringify(ev))).ok).toBe(true);
    // The late picture is not stored: no event points to it.
    cams.give('cam-dead', Date.now());
    await vi.advanceTimersByTimeAsync(10);
    expect(saved).toEqual(['cam-fast']);
    expect(s.stats()).toMatchObject({ snapshots: 1, timedOut: 1 });
  });

  it('an escalation behind a held firing keeps its order and its own bound (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const inner = new Recorder();
    const cams = new ManualCameras();
    const s = sink({
      inner,
      source: cams.source,
      waitMs: 1000,
      store: async (camera, _j, at) => ({ url: `/api/v1/snapshots/${camera}-${at}.jpg` }),
    });
    const inc = `flood-level.gauge-1-${randomUUID().slice(0, 6)}`;
    void s.emit(event(inc, 'alert.firing', 1));
    await vi.advanceTimersByTimeAsync(600);
    void s.emit(event(inc, 'alert.escalated', 2));
    expect(cams.calls.map((c) => c.camera)).toEqual(['cam-1', 'cam-1']);
    // The escalation's own picture arrives first; it still waits for the firing.
    cams.give('cam-1', Date.now(), 'newest');
    await vi.advanceTimersByTimeAsync(0);
    expect(inner.got).toEqual([]);
    cams.fail('cam-1', new Error('unused'));
    await vi.advanceTimersByTimeAsync(0);
    expect(inner.ids()).toEqual([`${inc}.firing.1`, `${inc}.escalated.2`]);
    expect(inner.got[0]!.evidence[0]).toMatchObject({ error: 'snapshot failed: unused' });
    expect(inner.got[1]!.evidence[0]).toMatchObject({
      url: expect.stringMatching(/^\/api\/v1\/snapshots\/cam-1-/),
    });

    // Both grabs hang: the firing goes at its 1000 ms, the escalation at its own 1000 ms (emitted 600 ms later).
    const inc2 = `flood-level.gauge-1-${randomUUID().slice(0, 6)}`;
    void s.emit(event(inc2, 'alert.firing', 1));
    await vi.advanceTimersByTimeAsync(600);
    void s.emit(event(inc2, 'alert.escalated', 2));
    await vi.advanceTimersByTimeAsync(400);
    expect(inner.ids().slice(2)).toEqual([`${inc2}.firing.1`]);
    await vi.advanceTimersByTimeAsync(599);
    expect(inner.ids().slice(2)).toEqual([`${inc2}.firing.1`]);
    await vi.advanceTimersByTimeAsync(1);
    expect(inner.ids().slice(2)).toEqual([`${inc2}.firing.1`, `${inc2}.escalated.2`]);
    expect(inner.got[3]!.evidence[0]).toMatchObject({ error: expect.stringMatching(/within 1000 ms/) });
    await s.drain();
  });

  it('a failed grab is an error entry at once, with no credentials in it', async () => {
    const inner = new Recorder();
    const cams = new ManualCameras();
    const s = sink({ inner, source: cams.source });
    const inc = `flood-level.gauge-1-${randomUUID().slice(0, 6)}`;
    const done = s.emit(event(inc, 'alert.firing', 1));
    await settle(() => cams.calls.length > 0);
    cams.fail(
      'cam-1',
      new GridgateError(
        'GG_ERR_CAMERA_UNAVAILABLE',
        'camera offline: rtsp://admin:s3cret@192.0.2.10:554/Streaming/Channels/102 Connection refused',
      ),
    );
    await done;
    const entry = inner.got[0]!.evidence[0]!;
    expect(entry).toMatchObject({ kind: 'snapshot', camera: 'cam-1' });
    expect(entry.error).toBe(
      'snapshot failed: GG_ERR_CAMERA_UNAVAILABLE: camera offline: rtsp://192.0.2.10:554/Streaming/Channels/102 Connection refused',
    );
    expect(JSON.stringify(inner.got[0])).not.toMatch(/s3cret|admin/);
    expect(validateAlertEvent(JSON.parse(JSON.stringify(inner.got[0]))).ok).toBe(true);
    expect(s.stats()).toMatchObject({ failed: 1, snapshots: 0 });
  });

  it('a store that fails is said in the entry', async () => {
    const inner = new Recorder();
    const s = sink({
      inner,
      source: async () => ({ jpeg, at: Date.now() }),
      store: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, open /var/lib/x'), {
          code: 'ENOSPC',
        });
      },
    });
    await s.emit(event(`flood-level.gauge-1-${randomUUID().slice(0, 6)}`, 'alert.firing', 1));
    expect(inner.got[0]!.evidence).toEqual([
      {
        kind: 'snapshot',
        camera: 'cam-1',
        at: expect.any(String),
        error: 'snapshot could not be stored (ENOSPC)',
      },
    ]);
  });

  it('grabs only for firing and escalated events; others, shadow events and lookup failures pass through untouched', async () => {
    const inner = new Recorder();
    const cams = new ManualCameras();
    const s = sink({ inner, source: cams.source });
    const inc = `flood-level.gauge-1-${randomUUID().slice(0, 6)}`;
    const passing = [
      event(inc, 'alert.reminder', 1),
      event(inc, 'alert.resolved', 2),
      { ...event(inc, 'alert.firing', 3), shadow: true },
    ];
    for (const e of passing) void s.emit(e);
    expect(inner.got).toEqual(passing);
    expect(inner.got[2]).toBe(passing[2]);

    const broken = sink({
      inner,
      source: cams.source,
      camerasFor: () => {
        throw new Error('registry bug');
      },
    });
    const e = event(inc, 'alert.firing', 4);
    void broken.emit(e);
    expect(inner.got.at(-1)).toBe(e);
    expect(cams.calls).toEqual([]);
  });
});

describe('camerasForEvent', () => {
  const dev = (id: string, family: Device['family'], over: Partial<Device> = {}): Device => ({
    id,
    model: family === 'camera' ? 'rtsp-camera' : 'acme-wl100',
    family,
    location: LOCATION,
    state: 'active',
    attrs: {},
    labels: {},
    cameras: [],
    ...over,
  });
  const index = new CameraIndex([
    dev('gauge-1', 'flood', { cameras: ['cam-bound', 'cam-cover'] }),
    dev('cam-bound', 'camera'),
    dev('cam-cover', 'camera', { covers: ['gauge-1'] }),
    dev('cam-other', 'camera', { covers: ['gauge-1'], location: { ...LOCATION, grid: 'G02' } }),
    dev('cam-old', 'camera', { covers: ['gauge-1'], state: 'retired' }),
  ]);

  it("asks the registry's camera index: bound and covering cameras, the camera itself, a location's cameras", () => {
    expect(camerasForEvent(event('i', 'alert.firing', 1, 'gauge-1'), index)).toEqual([
      'cam-bound',
      'cam-cover',
      'cam-other',
    ]);
    const own = event('i', 'alert.firing', 1, 'cam-bound');
    expect(camerasForEvent(own, index)).toEqual(['cam-bound']);
    expect(camerasForEvent(event('i', 'alert.firing', 1, 'unknown'), index)).toEqual([]);
    const correlation = { ...event('i', 'alert.firing', 1), device: undefined };
    expect(camerasForEvent(correlation, index)).toEqual(['cam-bound', 'cam-cover']);
  });
});

describe('scrub', () => {
  it('removes user:password@ from any URL and caps the length', () => {
    expect(scrub('rtsp://u:p@h/x and http://a@b/c')).toBe('rtsp://h/x and http://b/c');
    expect(scrub('x'.repeat(500))).toHaveLength(200);
  });
});

describe('gridgate.alert/v1 evidence entries', () => {
  const base1 = () => JSON.parse(JSON.stringify(event('flood-level.g1', 'alert.firing', 1))) as AlertEvent;
  const at = '2030-01-01T08:00:01.000Z';

  it('accept a url entry, an error entry, and an event without evidence (unchanged v1 events stay valid)', () => {
    expect(validateAlertEvent(base1()).ok).toBe(true);
    const withBoth = base1();
    withBoth.evidence = [
      { kind: 'snapshot', camera: 'cam-1', at, url: '/api/v1/snapshots/cam-1.jpg' },
      { kind: 'snapshot', camera: 'cam-2', at, error: 'camera offline' },
      { kind: 'link', url: 'https://example.org/x' },
    ];
    expect(validateAlertEvent(withBoth)).toMatchObject({ ok: true });
  });

  it('reject an entry with neither url nor error, with both, or with an empty error', () => {
    for (const bad of [
      { kind: 'snapshot', camera: 'cam-1', at },
      { kind: 'snapshot', camera: 'cam-1', at, url: '/x.jpg', error: 'camera offline' },
      { kind: 'snapshot', camera: 'cam-1', at, error: '' },
      { kind: 'snapshot', camera: 'cam-1', at: 'now', url: '/x.jpg' },
    ]) {
      const e = base1() as unknown as { evidence: unknown[] };
      e.evidence = [bad];
      expect(validateAlertEvent(e).ok, JSON.stringify(bad)).toBe(false);
    }
  });

  it("accept a camera's own incident (device family camera)", () => {
    const e = base1() as unknown as { device: { family: string } };
    e.device.family = 'camera';
    expect(validateAlertEvent(e).ok).toBe(true);
  });
});
