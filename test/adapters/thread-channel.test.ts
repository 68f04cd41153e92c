import { afterEach, describe, expect, it } from 'vitest';
import { ThreadChannel } from '../../adapters/threads/channel.js';
import { CREDIT_WINDOW } from '../../adapters/threads/endpoint.js';
import type { EchoAsks, EchoCalls } from '../support/threads/echo-thread.js';
import { captureLogs, waitFor } from './support.js';

/** The one thread channel (adapters/threads/), against a real worker thread (test/support/threads/echo-thread.ts). */
describe('ThreadChannel', () => {
  const channels: ThreadChannel<EchoCalls, EchoAsks, { pid: number }>[] = [];
  afterEach(async () => {
    for (const c of channels.splice(0)) await c.stop();
  });

  function open(opts: { failStart?: boolean; restart?: boolean } = {}) {
    const logs = captureLogs();
    const channel = new ThreadChannel<EchoCalls, EchoAsks, { pid: number }>(
      {
        callerUrl: new URL('../support/threads/x.ts', import.meta.url).href,
        module: 'echo-thread',
        name: 'echo thread',
        logger: logs.logger.child({ component: 'echo' }),
        stopTimeoutMs: 2000,
        ...(opts.restart ? { restart: { firstMs: 50, maxMs: 200, calmMs: 60_000 } } : {}),
      },
      () => ({ failStart: opts.failStart }),
    );
    channel.handle('double', (n) => n * 2);
    channels.push(channel);
    return { channel, logs };
  }

  it('answers typed calls both ways, and carries a handler error with its code', async () => {
    const { channel } = open();
    await channel.start();
    expect(await channel.call('echo', 'abc')).toBe('abc:6');
    await expect(channel.call('refuse', 'not today')).rejects.toMatchObject({
      message: 'not today',
      code: 'EREFUSED',
    });
  });

  it('fails the calls still waiting when the thread exits, and refuses new ones', async () => {
    const { channel } = open();
    await channel.start();
    const hanging = channel.call('hang', undefined);
    await channel.call('exit', 3);
    await expect(hanging).rejects.toThrow(/echo thread exited/);
    await waitFor('the channel to see the exit', () => !channel.running);
    await expect(channel.call('echo', 'x')).rejects.toThrow(/not running/);
  });

  it('keeps at most the credit window of batches unprocessed, returns credit in groups, and delivers them in order', async () => {
    const { channel } = open();
    const seen: number[] = [];
    channel.onItem = (name, v) => {
      if (name !== 'n') return;
      seen.push(v as number);
      const until = Date.now() + 2; // a slow consumer
      while (Date.now() < until);
    };
    await channel.start();
    const { most, creditMessages } = await channel.call('produce', 50);
    await waitFor('every batch', () => seen.length === 50);
    expect(most).toBeLessThanOrEqual(CREDIT_WINDOW);
    // Credit goes back in groups: a full window first, then one message per group of 4 at most.
    expect(creditMessages).toBeLessThanOrEqual(Math.ceil((50 - CREDIT_WINDOW) / 4));
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('sends transferred batches to the thread, taken in order', async () => {
    const { channel } = open();
    const sums: number[] = [];
    channel.onItem = (name, v) => {
      if (name === 'sum') sums.push(v as number);
    };
    await channel.start();
    for (let i = 1; i <= 3; i++) {
      const buf = new Float64Array([i, i]).buffer;
      channel.batch('nums', buf, [buf]);
      expect(buf.byteLength).toBe(0); // transferred, not copied
    }
    await waitFor('three sums', () => sums.length === 3);
    expect(sums).toEqual([2, 6, 12]);
  });

  it('answers a call after every batch sent before it (a flush sees what came first)', async () => {
    const { channel } = open();
    await channel.start();
    for (let i = 1; i <= 20; i++) {
      const buf = new Float64Array([i]).buffer;
      channel.batch('nums', buf, [buf]); // past the credit window: queued on the thread's side
    }
    expect(await channel.call('summed', undefined)).toBe(210);
  });

  it("writes the thread's log lines to this side's destination, redacted, with this side's bindings", async () => {
    const { channel, logs } = open();
    await channel.start();
    await channel.call('log', undefined);
    await waitFor('the line', () => logs.entries.some((e) => e.msg === 'hello from the thread'));
    const line = logs.entries.find((e) => e.msg === 'hello from the thread') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 40, component: 'echo', thing: 42, password: '[redacted]' });
  });

  it('restarts a thread that died, with backoff, and calls work again', async () => {
    const { channel, logs } = open({ restart: true });
    const exits: number[] = [];
    let restarted = 0;
    channel.onExit = (code) => {
      exits.push(code);
      return { note: 'gone' };
    };
    channel.onRestart = () => restarted++;
    await channel.start();
    await channel.call('exit', 7);
    await waitFor('a new thread', () => restarted === 1);
    expect(exits).toEqual([7]);
    expect(await channel.call('echo', 'again')).toBe('again:10');
    expect(logs.entries.find((e) => e.msg === 'echo thread exited; restarting it')).toMatchObject({
      code: 7,
      note: 'gone',
      restartInMs: 50,
    });
  });

  it("rejects start with the thread's own reason when it cannot get ready, and logs it once", async () => {
    const { channel, logs } = open({ failStart: true, restart: true });
    await expect(channel.start()).rejects.toMatchObject({
      message: 'cannot open the thing',
      code: 'EBADTHING',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(logs.entries.filter((e) => e.msg === 'echo thread failed')).toHaveLength(1);
    expect(channel.running).toBe(false);
  });

  it('stops the thread through its own stop, returns its answer, and it exits by itself', async () => {
    const { channel } = open();
    await channel.start();
    const worker = channel.worker!;
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(await channel.stop()).toBe('stopped cleanly');
    expect(await exited).toBe(0);
  });
});
