import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openMuxer } from '../../adapters/rtsp/live-muxer.js';
import { TS_PACKET, TS_SYNC, TsPacketizer } from '../../adapters/rtsp/live-ts.js';

const ENCODER = { ffmpeg: 'ffmpeg', fps: 25, bitrateKbps: 500, maxWidth: 1280 };

function packets(n: number, first = 0): Buffer {
  const b = Buffer.alloc(n * TS_PACKET, 0xff);
  for (let i = 0; i < n; i++) {
    b[i * TS_PACKET] = TS_SYNC;
    b[i * TS_PACKET + 1] = first + i;
  }
  return b;
}

describe('node-rtsp-stream Mpeg1Muxer as gridgate uses it (pins the package behaviour we rely on)', () => {
  it('puts its options after -i, so input options have to live elsewhere', () => {
    const m = openMuxer(ENCODER);
    try {
      const args = m.spawnOptions;
      expect(args.slice(0, 2)).toEqual(['-i', 'pipe:0']);
      expect(args.indexOf('-r')).toBeGreaterThan(args.indexOf('-i'));
      expect(args[args.indexOf('-r') + 1]).toBe('25');
      expect(args[args.indexOf('-codec:v') + 1]).toBe('mpeg1video');
      expect(args.at(-1)).toBe('-');
      // Its own exit listener (console output on exit code 1) is gone.
      expect(m.stream.listenerCount('exit')).toBe(0);
    } finally {
      m.stream.kill('SIGKILL');
    }
  });

  it('refuses a rate MPEG-1 cannot encode', () => {
    expect(() => openMuxer({ ...ENCODER, fps: 15 })).toThrow(/MPEG-1 cannot encode 15 fps/);
  });

  it('reports a missing ffmpeg as an error event the caller can handle', async () => {
    const m = openMuxer({ ...ENCODER, ffmpeg: '/nonexistent/ffmpeg' });
    const err = await new Promise<Error>((resolve) => m.stream.on('error', resolve));
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('turns H.264 in Matroska on stdin into MPEG-1 in MPEG-TS (real ffmpeg)', async () => {
    const src = spawnSync(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=320x180:rate=10',
        '-t',
        '2',
        '-c:v',
        'libx264',
        '-f',
        'matroska',
        'pipe:1',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    expect(src.status).toBe(0);
    const m = openMuxer(ENCODER);
    const out: Buffer[] = [];
    m.on('mpeg1data', (d: Buffer) => out.push(d));
    const exited = new Promise<number | null>((resolve) => m.stream.on('exit', resolve));
    m.stream.stdin.end(src.stdout);
    expect(await exited).toBe(0);
    const ts = new TsPacketizer().push(Buffer.concat(out));
    expect(ts?.length ?? 0).toBeGreaterThan(TS_PACKET * 10);
    for (let i = 0; i < (ts?.length ?? 0); i += TS_PACKET) expect(ts?.[i]).toBe(TS_SYNC);
    expect(ts?.includes(Buffer.from([0, 0, 1, 0xb3]))).toBe(true);
  });
});

describe('TsPacketizer', () => {
  it('emits whole packets only, across chunk boundaries', () => {
    const p = new TsPacketizer();
    const all = packets(5);
    expect(p.push(all.subarray(0, 100))).toBeUndefined();
    const a = p.push(all.subarray(100, 500));
    expect(a?.length).toBe(2 * TS_PACKET);
    const b = p.push(all.subarray(500));
    expect(b?.length).toBe(3 * TS_PACKET);
    expect(Buffer.concat([a!, b!]).equals(all)).toBe(true);
  });

  it('drops bytes before the first sync pair, and starts clean after reset', () => {
    const p = new TsPacketizer();
    const garbage = Buffer.from([1, TS_SYNC, 3, 4, 5]);
    const out = p.push(Buffer.concat([garbage, packets(3)]));
    expect(out?.length).toBe(3 * TS_PACKET);
    expect(out?.[0]).toBe(TS_SYNC);
    expect(out?.[1]).toBe(0);
    p.reset();
    const again = p.push(packets(2, 7));
    expect(again?.[1]).toBe(7);
  });
});
