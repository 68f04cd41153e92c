import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskSpool, type DiskSpoolConfig, type FsyncPolicy } from '../../adapters/fs/disk-spool.js';
import { HEADER_BYTES } from '../../adapters/fs/disk-spool-format.js';
import type { LineBatch } from '../../adapters/fs/spool.js';
import { testSpool } from './spool-support.js';
import { captureLogs, waitFor } from './support.js';

/** Another gateway's spool: opens SPOOL_CONFIG's folder, holds one batch, and stays alive. */
const OTHER_GATEWAY = `
const { pino } = await import('pino');
const { DiskSpool } = await import(process.env.SPOOL_MODULE);
const spool = new DiskSpool({ ...JSON.parse(process.env.SPOOL_CONFIG), logger: pino({ level: 'silent' }), what: 'tsdb spool', setting: 'tsdb.spool.dir' });
try {
  await spool.push({ body: Buffer.from('from-other 1\\n'), lines: 1 });
  console.log('held');
} catch (err) {
  console.log('refused ' + err.message);
  process.exit(0);
}
setInterval(() => {}, 60_000);
`;

function otherGateway(config: DiskSpoolConfig): { proc: ChildProcess; said: Promise<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', OTHER_GATEWAY], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      SPOOL_MODULE: pathToFileURL(resolve('adapters/fs/disk-spool.ts')).href,
      SPOOL_CONFIG: JSON.stringify(config),
    },
  });
  const said = new Promise<string>((resolveLine, reject) => {
    createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> }).once('line', resolveLine);
    proc.once('close', (code, signal) => reject(new Error(`spool process exited (${code ?? signal})`)));
  });
  return { proc, said };
}

const batch = (...lines: string[]): LineBatch => ({
  body: Buffer.from(lines.map((l) => `${l}\n`).join('')),
  lines: lines.length,
});
const text = (b: LineBatch) => Buffer.from(b.body).toString();

/** Drains everything, returning the batches' text. */
async function drainAll(spool: DiskSpool): Promise<string[]> {
  const out: string[] = [];
  for await (const b of spool.drain()) out.push(text(b));
  return out;
}

const segments = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.spool'))
    .sort()
    .map((f) => join(dir, f));

describe('DiskSpool', () => {
  const open: DiskSpool[] = [];
  const make = (config: DiskSpoolConfig, logs = captureLogs()) => {
    const spool = new DiskSpool({
      ...config,
      logger: logs.logger,
      what: 'tsdb spool',
      setting: 'tsdb.spool.dir',
    });
    open.push(spool);
    return spool;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it.each<FsyncPolicy>(['always', 'interval', 'never'])(
    'keeps batches in order across a restart (fsync %s), in private files',
    async (fsync) => {
      const config = testSpool({ fsync, fsyncIntervalMs: 20 });
      const first = make(config);
      await first.push(batch('a 1', 'b 2'));
      await first.push(batch('c 3'));
      expect(first.stats).toMatchObject({ lines: 3, records: 2, droppedLines: 0 });
      expect(first.stats.oldestAt).toBeGreaterThan(0);
      await first.close();

      expect(statSync(config.dir).mode & 0o777).toBe(0o700);
      for (const f of readdirSync(config.dir)) expect(statSync(join(config.dir, f)).mode & 0o777).toBe(0o600);

      const second = make(config);
      await second.ready;
      expect(second.lines).toBe(3);
      expect(await drainAll(second)).toEqual(['a 1\nb 2\n', 'c 3\n']);
      expect(second.stats).toMatchObject({ lines: 0, records: 0, oldestAt: undefined });
      // Sent to the end: the segment files are gone.
      expect(segments(config.dir)).toEqual([]);
    },
  );

  it('leaves the batch a consumer could not send at the head, and never yields a sent one again', async () => {
    const config = testSpool();
    const first = make(config);
    for (const l of ['a', 'b', 'c']) await first.push(batch(l));
    for await (const b of first.drain()) {
      if (text(b) === 'b\n') break; // 'a' sent, 'b' failed
    }
    expect(first.lines).toBe(2);
    await first.close();
    const second = make(config);
    expect(await drainAll(second)).toEqual(['b\n', 'c\n']);
  });

  it('cuts off a torn last record with a log line and keeps everything before it', async () => {
    const config = testSpool();
    const first = make(config);
    for (const l of ['a', 'b', 'c']) await first.push(batch(`${l} 1`));
    await first.close();
    const [seg] = segments(config.dir);
    // The last record written halfway: its header and 2 bytes of its payload.
    truncateSync(seg!, statSync(seg!).size - 3);

    const logs = captureLogs();
    const second = make(config, logs);
    await second.ready;
    expect(second.stats).toMatchObject({ lines: 2, records: 2, tornRecords: 1, corruptRecords: 0 });
    expect(
      logs.entries.some((e) => e.level === 40 && String(e.msg).includes('incomplete last spool record')),
    ).toBe(true);
    // Appending after the cut goes on from a clean end.
    await second.push(batch('d 1'));
    expect(await drainAll(second)).toEqual(['a 1\n', 'b 1\n', 'd 1\n']);
  });

  it('a tail whose bytes never reached the disk (zeros after a power loss) is cut off', async () => {
    const config = testSpool();
    const first = make(config);
    await first.push(batch('a 1', 'b 1'));
    await first.close();
    const [seg] = segments(config.dir);
    const whole = statSync(seg!).size;
    appendFileSync(seg!, Buffer.alloc(300));
    const second = make(config);
    await second.ready;
    expect(second.stats).toMatchObject({ lines: 2, records: 1, tornRecords: 1 });
    expect(statSync(seg!).size).toBe(whole);
  });

  it('a damaged cursor file means sending from the start again (at least once, never lost)', async () => {
    const config = testSpool();
    const first = make(config);
    for (const l of ['a', 'b', 'c']) await first.push(batch(l));
    for await (const b of first.drain()) {
      if (text(b) === 'b\n') break; // 'a' sent
    }
    await first.close();
    writeFileSync(join(config.dir, 'cursor'), 'garbage-garbage-garbage');
    expect(await drainAll(make(config))).toEqual(['a\n', 'b\n', 'c\n']);
  });

  it('skips and counts a damaged record in the middle of a segment', async () => {
    const config = testSpool();
    const first = make(config);
    for (const l of ['first', 'second', 'third']) await first.push(batch(`${l} 1`));
    await first.close();
    const [seg] = segments(config.dir);
    // One byte of the second record's payload flipped.
    const bytes = readFileSync(seg!);
    const second = HEADER_BYTES + 'first 1\n'.length + HEADER_BYTES + 2;
    const fd = openSync(seg!, 'r+');
    writeSync(fd, Buffer.from([bytes[second]! ^ 0xff]), 0, 1, second);
    closeSync(fd);

    const reopened = make(config);
    await reopened.ready;
    expect(reopened.stats).toMatchObject({ lines: 2, records: 2, corruptRecords: 1, tornRecords: 0 });
    expect(await drainAll(reopened)).toEqual(['first 1\n', 'third 1\n']);
  });

  it('a record of its own segment damaged while open is skipped and its lines counted as dropped', async () => {
    const config = testSpool();
    const spool = make(config);
    for (const l of ['first', 'second', 'third']) await spool.push(batch(`${l} 1`));
    const [seg] = segments(config.dir);
    const at = HEADER_BYTES + 'first 1\n'.length + HEADER_BYTES + 2;
    const fd = openSync(seg!, 'r+');
    writeSync(fd, Buffer.from([readFileSync(seg!)[at]! ^ 0xff]), 0, 1, at);
    closeSync(fd);
    expect(await drainAll(spool)).toEqual(['first 1\n', 'third 1\n']);
    // Nothing is left counted that can never be read: a consumer waiting for zero gets it.
    expect(spool.stats).toMatchObject({ lines: 0, records: 0, droppedLines: 1, corruptRecords: 1 });
    await spool.push(batch('fourth 1'));
    expect(await drainAll(spool)).toEqual(['fourth 1\n']);
  });

  it('drops the oldest segments past maxMB, counts and logs them, and keeps the newest', async () => {
    // About 1 kB of spool in segments of about 256 bytes; each batch is ~100 bytes with its header.
    const config = testSpool({ maxMB: 1024 / (1024 * 1024), segmentBytes: 256 });
    const logs = captureLogs();
    const spool = make(config, logs);
    const pushed = 40;
    for (let i = 0; i < pushed; i++)
      await spool.push(batch(`m,i=${String(i).padStart(3, '0')} v=${i} ${i}`.padEnd(70, ' ')));
    const { droppedLines, lines, bytes } = spool.stats;
    expect(droppedLines).toBeGreaterThan(0);
    expect(droppedLines + lines).toBe(pushed);
    expect(bytes).toBeLessThanOrEqual(1024);
    expect(logs.entries.some((e) => e.msg === 'tsdb spool full: oldest entries dropped')).toBe(true);
    const kept = await drainAll(spool);
    expect(kept.length).toBe(lines);
    // What is left is the newest run, in order, ending with the last pushed.
    const ids = kept.map((k) => Number(/i=(\d+)/.exec(k)?.[1]));
    expect(ids).toEqual(Array.from({ length: lines }, (_, j) => pushed - lines + j));
  });

  it('takes new batches while a drain is under way, and yields them in the same drain', async () => {
    const spool = make(testSpool());
    await spool.push(batch('a'));
    const out: string[] = [];
    for await (const b of spool.drain()) {
      out.push(text(b));
      if (out.length === 1) await spool.push(batch('b'));
    }
    expect(out).toEqual(['a\n', 'b\n']);
    expect(spool.lines).toBe(0);
  });

  it('refuses a second spool on its folder in this process, and opens once the first is closed', async () => {
    const config = testSpool();
    const first = make(config);
    await first.push(batch('a 1'));
    const second = make(config);
    await expect(second.ready).rejects.toThrow(
      `GG_ERR_CONFLICT: tsdb spool ${config.dir} is in use by process ${process.pid}`,
    );
    await expect(second.push(batch('b 1'))).rejects.toThrow(/GG_ERR_CONFLICT/);
    expect(second.stats.openError).toMatch(/in use by process/);
    expect(second.lines).toBe(0);
    // The refused one neither took nor removed anything; closing it leaves the first's lock.
    await second.close();
    expect(existsSync(join(config.dir, 'lock'))).toBe(true);
    expect(first.lines).toBe(1);

    await first.close();
    expect(existsSync(join(config.dir, 'lock'))).toBe(false);
    const third = make(config);
    expect(await drainAll(third)).toEqual(['a 1\n']);
    expect(third.stats.openError).toBeUndefined();
  });

  it("refuses a folder another gateway's process holds; once that process is killed, takes it over and sends what it held", async () => {
    const config = testSpool();
    const other = otherGateway(config);
    try {
      expect(await other.said).toBe('held');
      const pid = other.proc.pid as number;
      const refused = make(config);
      await expect(refused.ready).rejects.toThrow(`tsdb spool ${config.dir} is in use by process ${pid}`);
      await refused.close();

      other.proc.kill('SIGKILL');
      await waitFor('the other process gone', () => other.proc.signalCode !== null);
      const logs = captureLogs();
      const next = make(config, logs);
      await next.ready;
      expect(
        logs.entries.find((e) => e.level === 40 && String(e.msg).includes('lock taken over')),
      ).toMatchObject({ pid, reason: `process ${pid} is gone` });
      expect(await drainAll(next)).toEqual(['from-other 1\n']);
    } finally {
      if (other.proc.exitCode === null && other.proc.signalCode === null) other.proc.kill('SIGKILL');
    }
  });
});
