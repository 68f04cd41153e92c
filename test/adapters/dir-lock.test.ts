import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDir } from '../../adapters/fs/dir-lock.js';
import { captureLogs, waitFor } from './support.js';

const MODULE = pathToFileURL(resolve('adapters/fs/dir-lock.ts')).href;
const OPTS = { what: 'test store', setting: 'test.dir' };
/** Takes the lock on LOCK_DIR with the real lockDir, says how it went, and stays alive holding it. */
const HOLDER = `
const { lockDir } = await import(process.env.LOCK_MODULE);
try {
  lockDir(process.env.LOCK_DIR, { what: 'test store', setting: 'test.dir' });
  console.log('locked');
} catch (err) {
  console.log('refused ' + err.message);
  process.exit(0);
}
setInterval(() => {}, 60_000);
`;

const folder = () => mkdtempSync(join(tmpdir(), 'gg-dirlock-'));
const lockFile = (dir: string) => join(dir, LOCK_FILE);

describe('lockDir', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  /** A node process of its own (tsx for the TypeScript source) that runs HOLDER on `dir`. */
  function holder(dir: string): { proc: ChildProcess; said: Promise<string> } {
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', HOLDER], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOCK_MODULE: MODULE, LOCK_DIR: dir },
    });
    children.push(proc);
    const said = new Promise<string>((resolveLine, reject) => {
      createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> }).once('line', resolveLine);
      proc.once('close', (code, signal) =>
        reject(new Error(`holder exited (${code ?? signal}) without a word`)),
      );
    });
    return { proc, said };
  }

  /** A live process that is not a gridgate, for lock files naming it. */
  function bystander(): ChildProcess {
    const proc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
    children.push(proc);
    return proc;
  }

  const kill = async (proc: ChildProcess) => {
    proc.kill('SIGKILL');
    await waitFor('the process gone', () => proc.exitCode !== null || proc.signalCode !== null);
  };

  it('writes a private lock file naming this process, refuses a second owner here, and removes it on release', () => {
    const dir = folder();
    const lock = lockDir(dir, OPTS);
    expect(readFileSync(lockFile(dir), 'utf8').split('\n')[0]).toBe(String(process.pid));
    expect(statSync(lockFile(dir)).mode & 0o777).toBe(0o600);
    expect(() => lockDir(dir, OPTS)).toThrow(`test store ${dir} is in use by process ${process.pid}`);
    // The same folder by another path is the same folder.
    expect(() => lockDir(join(dir, '.'), OPTS)).toThrow(/GG_ERR_CONFLICT/);
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(false);
    lockDir(dir, OPTS).release();
    // Nothing left behind but the folder's own files.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a folder a live process holds, naming the folder and its pid; takes it over once that process is killed', async () => {
    const dir = folder();
    const first = holder(dir);
    expect(await first.said).toBe('locked');
    const pid = first.proc.pid as number;

    let refused: unknown;
    try {
      lockDir(dir, OPTS);
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({
      code: 'GG_ERR_CONFLICT',
      message: `GG_ERR_CONFLICT: test store ${dir} is in use by process ${pid}`,
    });
    expect((refused as { details: string[] }).details.join(' ')).toContain('test.dir');

    await kill(first.proc);
    const logs = captureLogs();
    const lock = lockDir(dir, { ...OPTS, logger: logs.logger });
    expect(readFileSync(lockFile(dir), 'utf8').split('\n')[0]).toBe(String(process.pid));
    const warned = logs.entries.find((e) => e.level === 40);
    expect(warned).toMatchObject({ pid, reason: `process ${pid} is gone`, dir });
    expect(String(warned?.msg)).toContain('lock taken over');

    // And now this process holds it against the next one.
    expect(await holder(dir).said).toBe(
      `refused GG_ERR_CONFLICT: test store ${dir} is in use by process ${process.pid}`,
    );
    lock.release();
  });

  it('reads the older pid-only lock file: refused while that pid lives, taken over when it does not', async () => {
    const dir = folder();
    const other = bystander();
    writeFileSync(lockFile(dir), String(other.pid));
    expect(() => lockDir(dir, OPTS)).toThrow(`in use by process ${other.pid}`);
    await kill(other);
    lockDir(dir, OPTS).release();
  });

  it('takes over a lock from before the machine restarted, or whose pid another program now has', () => {
    const live = bystander().pid as number;
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const started = readFileSync(`/proc/${live}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    const cases = [
      {
        text: `${live}\nboot=00000000-0000-0000-0000-000000000000\n`,
        reason: 'left before the machine restarted',
      },
      {
        text: `${live}\nboot=${boot}\nstarted=1\n`,
        reason: `process ${live} is gone; its pid now belongs to another program`,
      },
      { text: '', reason: 'the lock file names no process' },
      { text: '\0\0\0\0', reason: 'the lock file names no process' },
    ];
    for (const c of cases) {
      const dir = folder();
      writeFileSync(lockFile(dir), c.text);
      const logs = captureLogs();
      lockDir(dir, { ...OPTS, logger: logs.logger }).release();
      expect(logs.entries.find((e) => e.level === 40)?.reason).toBe(c.reason);
    }
    // The same pid, boot and start time: that process holds it.
    const dir = folder();
    writeFileSync(lockFile(dir), `${live}\nboot=${boot}\nstarted=${started}\n`);
    expect(() => lockDir(dir, OPTS)).toThrow(`in use by process ${live}`);
  });

  it('leaves alone a lock another owner took over meanwhile', () => {
    const dir = folder();
    const lock = lockDir(dir, OPTS);
    writeFileSync(lockFile(dir), '12345\n');
    lock.release();
    expect(readFileSync(lockFile(dir), 'utf8')).toBe('12345\n');
  });

  it('of processes taking over one stale lock at once, exactly one gets the folder', async () => {
    const dir = folder();
    writeFileSync(lockFile(dir), '99999999'); // far above pid_max: no such process
    const racers = Array.from({ length: 4 }, () => holder(dir));
    const said = await Promise.all(racers.map((r) => r.said));
    const winners = racers.filter((_, i) => said[i] === 'locked');
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.proc.pid;
    for (const s of said.filter((x) => x !== 'locked')) expect(s).toContain(`in use by process ${winner}`);
    expect(readFileSync(lockFile(dir), 'utf8').split('\n')[0]).toBe(String(winner));
  });
});
