import { appendFileSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FileOutbox, type OutboxEntry } from '../../adapters/bullmq/outbox-file.js';
import { cleanups, sampleEvent, silent } from './support.js';

async function folder(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'gg-outbox-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return join(d, 'outbox');
}

function outbox(dir: string, maxBytes = 1024 * 1024, segmentBytes?: number, logger = silent): FileOutbox {
  const o = new FileOutbox({ dir, maxBytes, segmentBytes, logger });
  cleanups.push(async () => o.close());
  return o;
}

function entries(n: number, incidentId = `inc-${Math.random()}`): OutboxEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    queue: 'q',
    at: 1_700_000_000_000 + i,
    event: sampleEvent({ incidentId, id: `${incidentId}.${i}` }),
  }));
}

/** Take every entry in order, marking each delivered. */
function drain(o: FileOutbox): string[] {
  const ids: string[] = [];
  for (let e = o.peek(); e; e = o.peek()) {
    ids.push(e.event.id);
    o.shift(e);
  }
  return ids;
}

function segments(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.seg'));
}

describe('FileOutbox', () => {
  it('creates nothing until an event waits; then a 0700 folder of 0600 files', async () => {
    const dir = await folder();
    const o = outbox(dir);
    expect(existsSync(dir)).toBe(false);
    expect(o.depth).toBe(0);
    o.append(entries(2));
    await o.sync();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('gives entries back oldest first across segments, and removes each segment once delivered', async () => {
    const dir = await folder();
    const o = outbox(dir, 1024 * 1024, 2048);
    const es = entries(20);
    o.append(es.slice(0, 10));
    o.append(es.slice(10));
    expect(o.depth).toBe(20);
    expect(segments(dir).length).toBeGreaterThan(2);
    expect(o.stats().oldestAt).toBe(es[0]!.at);
    const first = o.peek()!;
    expect(o.peek()).toBe(first); // peek does not move
    expect(drain(o)).toEqual(es.map((e) => e.event.id));
    expect(o.depth).toBe(0);
    expect(segments(dir)).toEqual([]);
    expect(o.stats()).toMatchObject({ depth: 0, bytes: 0, oldestAt: undefined });
  });

  it('after a close, a new outbox on the folder resumes at the first undelivered entry', async () => {
    const dir = await folder();
    const a = outbox(dir, 1024 * 1024, 2048);
    const es = entries(12);
    a.append(es);
    for (let i = 0; i < 5; i++) a.shift(a.peek()!);
    a.close();
    const b = outbox(dir, 1024 * 1024, 2048);
    expect(b.depth).toBe(7);
    b.append(entries(1, 'later'));
    expect(drain(b)).toEqual([...es.slice(5).map((e) => e.event.id), 'later.0']);
  });

  it('cuts a torn last record (a crash mid-write) at open, logs it, and keeps the records before it', async () => {
    const dir = await folder();
    const a = outbox(dir);
    const es = entries(3);
    a.append(es);
    a.close();
    const seg = join(dir, segments(dir)[0]!);
    const whole = statSync(seg).size;
    appendFileSync(seg, Buffer.from([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 0x7b]));
    const logged: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => logged.push(s) });
    const b = outbox(dir, 1024 * 1024, undefined, logger);
    expect(b.depth).toBe(3);
    expect(statSync(seg).size).toBe(whole);
    expect(logged.join('')).toContain('torn or damaged record');
    expect(drain(b)).toEqual(es.map((e) => e.event.id));
  });

  it('a record whose bytes were never written (zeros after a power loss) ends the segment', async () => {
    const dir = await folder();
    const a = outbox(dir);
    a.append(entries(2));
    a.close();
    const seg = join(dir, segments(dir)[0]!);
    const before = statSync(seg).size;
    appendFileSync(seg, Buffer.alloc(300));
    const b = outbox(dir);
    expect(b.depth).toBe(2);
    expect(statSync(seg).size).toBe(before);
  });

  it('a damaged cursor file means sending from the start again (re-sends are deduplicated downstream)', async () => {
    const dir = await folder();
    const a = outbox(dir);
    a.append(entries(4));
    a.shift(a.peek()!);
    a.close();
    writeFileSync(join(dir, 'cursor'), 'garbage-garbage');
    expect(outbox(dir).depth).toBe(4);
  });

  it('when full, drops the oldest segment, counts and logs what it lost, and keeps the newest', async () => {
    const dir = await folder();
    const logged: string[] = [];
    const logger = pino({ level: 'error' }, { write: (s: string) => logged.push(s) });
    const size = JSON.stringify(entries(1)[0]).length + 40;
    const o = outbox(dir, size * 12, size * 4, logger);
    const es = entries(30);
    o.append(es);
    const s = o.stats();
    expect(s.bytes).toBeLessThanOrEqual(size * 12);
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.depth + s.dropped).toBe(30);
    expect(logged.join('')).toContain('alert outbox full');
    const kept = drain(o);
    // What is kept is the newest, still in order.
    expect(kept).toEqual(es.slice(30 - kept.length).map((e) => e.event.id));
  });

  it('keeps a second outbox off a folder in use, and takes over one left by a dead process', async () => {
    const dir = await folder();
    const a = outbox(dir);
    a.append(entries(1));
    expect(() => outbox(dir)).toThrow(/GG_ERR_CONFLICT.*in use/);
    a.close();
    // A lock naming a process that is gone (pid far above pid_max) is stale.
    writeFileSync(join(dir, 'lock'), '99999999');
    const b = outbox(dir);
    expect(b.depth).toBe(1);
  });
});
