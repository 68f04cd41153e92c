import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IntakeCheckpoint } from '../../adapters/mqtt/intake-checkpoint.js';
import { IntakeEdge } from '../../adapters/mqtt/intake-edge.js';
import { IntakeLog, type IntakeLogConfig } from '../../adapters/mqtt/intake-log.js';
import { captureLogs, waitFor } from './support.js';

const opened: IntakeLog[] = [];
afterEach(() => {
  for (const log of opened.splice(0)) log.close();
});

function open(cfg: IntakeLogConfig, logs = captureLogs()): IntakeLog {
  const log = new IntakeLog(cfg, logs.logger);
  opened.push(log);
  return log;
}

function closeLast(): void {
  opened.pop()?.close();
}

const config = (extra: Partial<IntakeLogConfig> = {}): IntakeLogConfig => ({
  dir: join(mkdtempSync(join(tmpdir(), 'gg-intake-')), 'intake'),
  fsync: 'always',
  fsyncIntervalMs: 1000,
  ...extra,
});

/** The checkpoint as the gateway's side moves it: a batch up to `seq` emitted, its readings durable at once. */
async function checkpointAt(cfg: IntakeLogConfig, seq: number): Promise<void> {
  const told: number[] = [];
  const c = new IntakeCheckpoint(
    { log: cfg, settled: () => Promise.resolve() },
    (n) => told.push(n),
    (err) => {
      throw err;
    },
  );
  c.afterBatch(seq);
  await new Promise((r) => setImmediate(r));
  c.close();
  expect(told).toEqual([seq]);
}

function unsettled(log: IntakeLog): { topic: string; payload: string; end: number }[] {
  return [...log.unsettled()].flatMap((r) =>
    r.messages.map((m) => ({ topic: m.topic, payload: m.payload.toString(), end: r.end })),
  );
}

function appendCommitted(log: IntakeLog, from: number, to: number, perCommit = 10): void {
  for (let i = from; i < to; i++) {
    log.append(`devices/d-${i % 7}/telemetry`, Buffer.from(`{"wl":${i},"név":"水位"}`));
    if ((i + 1) % perCommit === 0) log.commit();
  }
  log.commit();
}

describe('IntakeLog', () => {
  it('gives back, after a restart, every committed message past the checkpoint, in order', async () => {
    const cfg = config();
    const log = open(cfg);
    appendCommitted(log, 0, 95);
    expect(log.committed).toBe(95);
    await checkpointAt(cfg, 42);
    closeLast();

    const again = open(cfg);
    const back = unsettled(again);
    expect(back.map((m) => m.payload)).toEqual(
      Array.from({ length: 53 }, (_, k) => `{"wl":${k + 42},"név":"水位"}`),
    );
    expect(back[0]?.topic).toBe('devices/d-0/telemetry'); // 42 % 7
    expect(back.at(-1)?.end).toBe(95);
    expect(again.next).toBe(95); // numbering goes on after what it holds
  });

  it('deletes segments wholly below the checkpoint, at open and as readings settle', async () => {
    const cfg = config({ segmentBytes: 1024 });
    const log = open(cfg);
    appendCommitted(log, 0, 300);
    const segments = () => readdirSync(cfg.dir).filter((f) => f.endsWith('.log'));
    const before = segments().length;
    expect(before).toBeGreaterThan(5);
    log.settled(150);
    const after = segments();
    expect(after.length).toBeLessThan(before);
    // The segment holding 150 is kept: its first number is at or below 150, the next one's above.
    const firsts = after.map((f) => Number(f.slice(4, 20)));
    expect(Math.min(...firsts)).toBeLessThanOrEqual(150);
    await checkpointAt(cfg, 290);
    closeLast();
    const again = open(cfg);
    expect(unsettled(again).map((m) => m.payload)).toEqual(
      Array.from({ length: 10 }, (_, k) => `{"wl":${k + 290},"név":"水位"}`),
    );
    expect(segments().length).toBeLessThanOrEqual(3);
  });

  it('cuts off a record torn by a crash, keeps every one before it, and goes on numbering from there', () => {
    const cfg = config();
    const logs = captureLogs();
    const log = open(cfg, logs);
    appendCommitted(log, 0, 30);
    closeLast();
    const [seg] = readdirSync(cfg.dir).filter(
      (f) => f.endsWith('.log') && statSync(join(cfg.dir, f)).size > 0,
    );
    const path = join(cfg.dir, seg as string);
    const whole = statSync(path).size;
    // Half a record more, as a write interrupted by SIGKILL or a power cut leaves it.
    const tail = readFileSync(path).subarray(0, 40);
    appendFileSync(path, tail);
    const again = open(cfg, logs);
    expect(statSync(path).size).toBe(whole);
    expect(unsettled(again)).toHaveLength(30);
    expect(again.next).toBe(30);
    expect(logs.entries.some((e) => e.msg?.includes('incomplete or damaged record'))).toBe(true);
    appendCommitted(again, 30, 35);
    closeLast();
    expect(
      unsettled(open(cfg))
        .map((m) => m.payload)
        .at(-1),
    ).toBe('{"wl":34,"név":"水位"}');
  });

  it('a checkpoint with a bad checksum replays everything (duplicates, never a loss)', async () => {
    const cfg = config();
    const log = open(cfg);
    appendCommitted(log, 0, 20);
    await checkpointAt(cfg, 15);
    closeLast();
    truncateSync(join(cfg.dir, 'checkpoint'), 10);
    expect(unsettled(open(cfg))).toHaveLength(20);
  });

  it('moves the checkpoint only once the readings are durable, once for many batches', async () => {
    const cfg = config();
    open(cfg);
    let durable: () => void = () => undefined;
    const told: number[] = [];
    const c = new IntakeCheckpoint(
      { log: cfg, settled: () => new Promise<void>((r) => (durable = r)) },
      (n) => told.push(n),
      (err) => {
        throw err;
      },
    );
    c.afterBatch(10);
    const first = durable;
    c.afterBatch(25);
    c.afterBatch(undefined); // a batch with nothing logged (QoS 0 only)
    expect(c.unsettled).toBe(25);
    await new Promise((r) => setImmediate(r));
    expect(told).toEqual([]);
    durable();
    first();
    await new Promise((r) => setImmediate(r));
    expect(told).toEqual([25]);
    expect(c.unsettled).toBe(0);
    c.close();
  });

  it('refuses a folder another owner holds', () => {
    const cfg = config();
    open(cfg);
    expect(() => new IntakeLog(cfg, captureLogs().logger)).toThrow(/mqtt intake log/);
  });
});

describe('IntakeEdge', () => {
  /** A real TCP connection: what is written on `out` arrives on the other side, `received`. */
  async function connection() {
    let received = '';
    const server = createServer((s) => s.on('data', (d) => (received += d.toString())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const out = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => out.once('connect', r));
    return {
      out,
      received: () => received,
      close: () => {
        out.destroy();
        server.close();
      },
    };
  }

  it('with fsync always, holds what is written after a QoS 1 message until the log is synced', async () => {
    const cfg = config();
    const edge = new IntakeEdge(cfg, captureLogs().logger);
    const c = await connection();
    try {
      edge.taken('devices/a/telemetry', Buffer.from('{"wl":1}'), 1, c.out);
      c.out.write('PUBACK-1'); // what the broker writes for it
      edge.commit(); // written; the sync runs off the thread
      expect(c.out.writableCorked).toBe(1);
      edge.taken('devices/a/telemetry', Buffer.from('{"wl":2}'), 1, c.out);
      c.out.write('PUBACK-2');
      edge.commit(); // the first sync is still in flight: this one waits for the next
      await waitFor('both acknowledgements', () => c.received() === 'PUBACK-1PUBACK-2');
      expect(c.out.writableCorked).toBe(0);
      expect(edge.seq).toBe(2);
      // QoS 0 is not logged and never held.
      edge.taken('devices/a/telemetry', Buffer.from('{"wl":3}'), 0, c.out);
      c.out.write('-');
      expect(c.out.writableCorked).toBe(0);
    } finally {
      edge.close();
      c.close();
    }
    expect(unsettled(open(cfg)).map((m) => m.payload)).toEqual(['{"wl":1}', '{"wl":2}']);
  });

  it('with fsync interval, releases at the end of the turn, once the record is written', async () => {
    const cfg = config({ fsync: 'interval' });
    const edge = new IntakeEdge(cfg, captureLogs().logger);
    const c = await connection();
    try {
      edge.taken('devices/b/telemetry', Buffer.from('{"wl":1}'), 1, c.out);
      c.out.write('PUBACK');
      expect(c.out.writableCorked).toBe(1);
      edge.commit();
      expect(c.out.writableCorked).toBe(0);
      await waitFor('the acknowledgement', () => c.received() === 'PUBACK');
    } finally {
      edge.close();
      c.close();
    }
  });
});
