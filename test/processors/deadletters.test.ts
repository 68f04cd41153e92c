import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DeadLetterStore, LogThrottle, previewPayload } from '../../processors/deadletters.js';
import type { Rejection, RejectReason } from '../../processors/errors.js';

class FakeClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

function rej(deviceId: string, reason: RejectReason, n = 0): Rejection {
  return { reason, at: n, transport: 'mqtt', deviceId, detail: `#${n}` };
}

/** pino writes through a stream; let it drain. */
const flush = () => new Promise((r) => setImmediate(r));

describe('DeadLetterStore', () => {
  it('keeps the newest `capacity` rejections, newest last, and counts all', () => {
    const store = new DeadLetterStore({ capacity: 3 });
    for (let i = 0; i < 5; i++) store.reject(rej('d1', i % 2 ? 'malformed' : 'wrong_type', i));
    expect(store.size).toBe(3);
    expect(store.list().map((r) => r.detail)).toEqual(['#2', '#3', '#4']);
    expect(store.counts()).toMatchObject({ wrong_type: 3, malformed: 2, unknown_device: 0 });
  });

  it('filters by device and reason, limit keeps the newest', () => {
    const store = new DeadLetterStore({ capacity: 10 });
    for (let i = 0; i < 6; i++) store.reject(rej(i % 2 ? 'a' : 'b', i < 3 ? 'malformed' : 'out_of_range', i));
    expect(store.list({ deviceId: 'a' }).map((r) => r.detail)).toEqual(['#1', '#3', '#5']);
    expect(store.list({ reason: 'malformed' }).map((r) => r.detail)).toEqual(['#0', '#1', '#2']);
    expect(store.list({ deviceId: 'b', reason: 'out_of_range' }).map((r) => r.detail)).toEqual(['#4']);
    expect(store.list({ limit: 2 }).map((r) => r.detail)).toEqual(['#4', '#5']);
  });

  it('logs at most once per (device, reason) per interval, then says how many it suppressed', async () => {
    const clock = new FakeClock();
    const { lines, logger } = capture();
    const store = new DeadLetterStore({ logger, clock, logIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) store.reject(rej('d1', 'malformed', i));
    store.reject(rej('d2', 'malformed'));
    store.reject(rej('d1', 'wrong_type'));
    await flush();
    expect(lines.map((l) => [l.deviceId, l.reason, l.suppressed])).toEqual([
      ['d1', 'malformed', 0],
      ['d2', 'malformed', 0],
      ['d1', 'wrong_type', 0],
    ]);
    clock.t += 59_999;
    store.reject(rej('d1', 'malformed'));
    await flush();
    expect(lines).toHaveLength(3);
    clock.t += 1;
    store.reject(rej('d1', 'malformed'));
    await flush();
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({ deviceId: 'd1', reason: 'malformed', suppressed: 10 });
    expect(String(lines[3]?.msg)).toContain('10 more');
    expect(store.counts().malformed).toBe(13);
  });

  it('the throttle table is bounded under a flood of distinct keys', () => {
    const clock = new FakeClock();
    const t = new LogThrottle(60_000, clock, 100);
    let admitted = 0;
    for (let i = 0; i < 1000; i++) if (t.admit(`dev-${i}`) >= 0) admitted++;
    // 100 keys, then one shared overflow key admits once.
    expect(admitted).toBe(101);
    clock.t += 60_000;
    expect(t.admit('dev-fresh')).toBe(0);
  });
});

describe('previewPayload', () => {
  it('keeps printable ASCII and valid UTF-8, escapes the rest as \\xNN', () => {
    expect(previewPayload(Buffer.from('{"a":1}'))).toBe('{"a":1}');
    expect(previewPayload(Buffer.from('水位 1.2'))).toBe('水位 1.2');
    expect(previewPayload(Buffer.from([0x41, 0x00, 0xff, 0x0a, 0x5c, 0x42]))).toBe('A\\x00\\xff\\x0a\\x5cB');
    expect(previewPayload(Buffer.from([0xe6, 0xb0]))).toBe('\\xe6\\xb0');
    expect(previewPayload(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80');
    expect(previewPayload(Buffer.from([0xc0, 0xaf]))).toBe('\\xc0\\xaf');
  });

  it('stops at 256 bytes and says how much was left out', () => {
    const p = previewPayload(Buffer.alloc(1_000_000, 0x61));
    expect(p).toBe(`${'a'.repeat(256)}…(+999744 bytes)`);
  });
});

describe('payload previews never show secrets', () => {
  it('masks the HJ 212 PW and JSON password/secret/token values', async () => {
    const { previewPayload } = await import('../../processors/deadletters.js');
    const hj = previewPayload(Buffer.from('QN=20260101;ST=22;CN=2011;PW=s3cret!;MN=ABC;CP=&&a34002-Rtd=1&&'));
    expect(hj).not.toContain('s3cret');
    expect(hj).toContain('PW=***;MN=ABC');
    const json = previewPayload(Buffer.from('{"wl":1,"password":"hunter2","Token":"abc\\"def","x":2}'));
    expect(json).not.toMatch(/hunter2|abc/);
    expect(json).toContain('"wl":1');
  });
});
