import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FairReads, type FairReadsOptions } from '../../adapters/mqtt/fair-reads.js';
import { waitFor } from './support.js';

/**
 * FairReads on real loopback sockets, read the way aedes reads them: on 'readable', read(null) once,
 * handle what came back, and read again from inside the handler (as aedes does when a batch of
 * packets is done). Only the clock is faked: each chunk handled costs `costMs`.
 */

interface Reader {
  socket: Socket;
  chunks: Buffer[];
  ended: boolean;
  /** A read(null) answered with data while a chunk was still being handled. */
  reentered: boolean;
}

describe('FairReads', () => {
  let server: Server | undefined;
  const clients: Socket[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    if (server) await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
  });

  /** A server whose accepted sockets are put under `fair`; resolves the server-side sockets in accept order. */
  async function pairs(fair: FairReads, n: number): Promise<{ served: Socket[]; sent: Socket[] }> {
    const served: Socket[] = [];
    server = createServer((s) => {
      fair.attach(s);
      served.push(s);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const sent: Socket[] = [];
    for (let i = 0; i < n; i++) {
      const c = connect(port, '127.0.0.1');
      clients.push(c);
      await once(c, 'connect');
      sent.push(c);
      await waitFor('accept', () => served.length === i + 1);
    }
    return { served, sent };
  }

  function read(
    socket: Socket,
    clock: { t: number },
    costMs: number,
    order: string[],
    name: string,
    onChunk?: () => void,
  ): Reader {
    const r: Reader = { socket, chunks: [], ended: false, reentered: false };
    let handling = false;
    const next = (): void => {
      const buf = socket.read() as Buffer | null;
      if (!buf) return;
      if (handling) r.reentered = true;
      handling = true;
      r.chunks.push(buf);
      order.push(name);
      clock.t += costMs;
      onChunk?.();
      next(); // aedes: the batch's last packet is handled, read again
      handling = false;
    };
    socket.on('readable', next);
    socket.on('end', () => {
      r.ended = true;
    });
    return r;
  }

  function pattern(n: number, seed: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
    return b;
  }

  it('hands out at most sliceBytes at a time, every byte in order, and end only after the last', async () => {
    const clock = { t: 0 };
    const fair = new FairReads({ budgetMs: 1000, sliceBytes: 1000, now: () => clock.t });
    const { served, sent } = await pairs(fair, 1);
    const r = read(served[0]!, clock, 0, [], 'a');
    const data = pattern(200_000, 7);
    sent[0]!.end(data);
    await waitFor('end', () => r.ended);
    expect(Buffer.concat(r.chunks).equals(data)).toBe(true);
    expect(Math.max(...r.chunks.map((c) => c.length))).toBeLessThanOrEqual(1000);
    expect(r.chunks.length).toBeGreaterThanOrEqual(200);
    // mqtt-packet's parser is not re-entrant: the next slice never arrives inside the handler.
    expect(r.reentered).toBe(false);
  });

  it('bounds a turn by its budget, so a connection that becomes readable later waits rounds, not the backlog', async () => {
    const clock = { t: 0 };
    const opts: FairReadsOptions = { budgetMs: 3, sliceBytes: 1000, now: () => clock.t };
    const fair = new FairReads(opts);
    const { served, sent } = await pairs(fair, 3);
    const order: string[] = [];
    const data = [pattern(30_000, 1), pattern(30_000, 2)] as const;
    // a and b have 30 slices each buffered before anyone reads: without a budget one turn takes all 60.
    sent[0]!.end(data[0]);
    sent[1]!.end(data[1]);
    await waitFor(
      'buffered',
      () => served[0]!.readableLength === 30_000 && served[1]!.readableLength === 30_000,
    );
    let late = false;
    const onChunk = () => {
      if (late) return;
      late = true;
      sent[2]!.end('c'); // readable only once the loop polls the sockets again
    };
    const readers = [
      read(served[0]!, clock, 1, order, 'a', onChunk),
      read(served[1]!, clock, 1, order, 'b', onChunk),
      read(served[2]!, clock, 1, order, 'c'),
    ];
    await waitFor('all ended', () => readers.every((r) => r.ended));
    expect(Buffer.concat(readers[0]!.chunks).equals(data[0])).toBe(true);
    expect(Buffer.concat(readers[1]!.chunks).equals(data[1])).toBe(true);
    expect(Buffer.concat(readers[2]!.chunks).toString()).toBe('c');
    // c waited for the rest of the turn in progress (3 slices), not for the backlog, and then went
    // ahead of a and b: new bytes are served before connections still being read.
    expect(order.indexOf('c')).toBeLessThanOrEqual(5);
    expect(fair.stats.deferred).toBeGreaterThan(0);
    expect(fair.stats.rounds).toBeGreaterThan(0);
    expect(fair.waiting).toBe(0);
  });

  it('serves a backlog at least once a round, however many new connections have bytes', async () => {
    const clock = { t: 0 };
    // Every slice costs a whole budget: a round's budget goes to the first one served.
    const fair = new FairReads({ budgetMs: 1, sliceBytes: 1000, now: () => clock.t });
    const { served, sent } = await pairs(fair, 31);
    sent[0]!.write(pattern(60_000, 3));
    await waitFor('buffered', () => served[0]!.readableLength === 60_000);
    const order: string[] = [];
    // Once the backlog is being read, 30 quiet connections send a byte each: all new flows.
    let woke = false;
    const a = read(served[0]!, clock, 1, order, 'a', () => {
      if (woke) return;
      woke = true;
      for (const s of sent.slice(1)) s.write('x');
    });
    const quiet = served.slice(1).map((s) => read(s, clock, 1, order, 'q'));
    await waitFor('every quiet byte', () => quiet.every((r) => r.chunks.length === 1));
    // New flows go first, one per round here, and the backlog still gets a slice each round: by the
    // last quiet byte it has had one slice per quiet byte (30 here; without that rule, one).
    const lastQuiet = order.lastIndexOf('q');
    expect(order.slice(0, lastQuiet).filter((n) => n === 'a').length).toBeGreaterThanOrEqual(20);
    await waitFor('a drained', () => Buffer.concat(a.chunks).length === 60_000);
  });

  it('skips a connection that closed while it waited; the others go on', async () => {
    const clock = { t: 0 };
    const fair = new FairReads({ budgetMs: 1, sliceBytes: 100, now: () => clock.t });
    const { served, sent } = await pairs(fair, 2);
    sent[0]!.write(pattern(50_000, 1));
    sent[1]!.write(pattern(50_000, 2));
    await waitFor('buffered', () => served.every((s) => s.readableLength === 50_000));
    // Each read costs a whole budget: every other read waits for a round. b closes while it waits.
    let closed = false;
    const ra = read(served[0]!, clock, 1, [], 'a', () => {
      if (!closed && fair.waiting > 0) {
        closed = true;
        served[1]!.destroy();
      }
    });
    read(served[1]!, clock, 1, [], 'b');
    await waitFor('a drained', () => Buffer.concat(ra.chunks).length === 50_000);
    expect(closed).toBe(true);
    await waitFor('queue empty', () => fair.waiting === 0);
    expect(served[1]!.destroyed).toBe(true);
  });

  it('hold() stops every read until release(); nothing is lost and the stream ends in order', async () => {
    const clock = { t: 0 };
    const fair = new FairReads({ budgetMs: Number.POSITIVE_INFINITY, sliceBytes: 1000, now: () => clock.t });
    const { served, sent } = await pairs(fair, 2);
    let count = 0;
    const a = read(served[0]!, clock, 0, [], 'a', () => {
      if (++count === 5) fair.hold();
    });
    const b = read(served[1]!, clock, 0, [], 'b');
    const dataA = pattern(50_000, 3);
    const dataB = pattern(20_000, 9);
    sent[0]!.end(dataA);
    await waitFor('a held', () => fair.held && fair.waiting >= 1);
    const readWhileHeld = a.chunks.length;
    sent[1]!.end(dataB);
    // b's bytes arrive while held: b queues too, and neither reads on.
    await waitFor('b queued', () => fair.waiting === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.chunks.length).toBe(readWhileHeld);
    expect(b.chunks.length).toBe(0);
    expect(a.ended || b.ended).toBe(false);
    fair.release();
    await waitFor('both ended', () => a.ended && b.ended);
    expect(Buffer.concat(a.chunks).equals(dataA)).toBe(true);
    expect(Buffer.concat(b.chunks).equals(dataB)).toBe(true);
  });

  it('refuses a budget or slice that could never serve anything', () => {
    expect(() => new FairReads({ budgetMs: 0 })).toThrow(/budgetMs/);
    expect(() => new FairReads({ budgetMs: 4, sliceBytes: 0 })).toThrow(/sliceBytes/);
  });
});
