import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CredentialStore } from '../../adapters/registry/credentials.js';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { UnknownDevices } from '../../adapters/registry/unknown-devices.js';
import { devicesCommand } from '../../gateway/cli/devices.js';
import { colourWanted } from '../../gateway/cli/output.js';
import { devicesPlugin } from '../../gateway/http/routes/devices.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { ModelIndex } from '../../processors/devices/index.js';
import { LatestReadings } from '../../processors/latest.js';
import { gauge, knownModels } from './fixtures.js';

/**
 * What `gridgate devices` prints, as a shell sees it: the real CLI entry point in a child process,
 * stdout a pipe (or a pseudo-terminal from util-linux `script`), against a real API on Redis.
 */

let redis: Redis;
let app: FastifyInstance;
let registry: RedisRegistry;
let unknown: UnknownDevices;
let credentials: CredentialStore;
let url: string;
let dir: string;
const prefix = `gg-test:${randomUUID()}:`;
const ESC = '\u001b[';

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  registry = new RedisRegistry({ redis, prefix, knownModels });
  await registry.start();
  credentials = new CredentialStore({ redis, prefix, scrypt: { N: 1024, r: 8, p: 1 } });
  unknown = new UnknownDevices({ redis, prefix });
  app = await buildHttpServer({
    logger: pino({ level: 'silent' }),
    root: [],
    api: [
      {
        plugin: devicesPlugin as never,
        prefix: '',
        options: {
          registry,
          credentials,
          unknown,
          actor: () => 'tester',
          watch: { latest: new LatestReadings(), models: new ModelIndex() },
        },
      },
    ],
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  dir = await mkdtemp(join(tmpdir(), 'gg-cli-out-'));
});
afterAll(async () => {
  await app.close();
  await registry.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The `devices` command as main.ts mounts it, with main.ts's error reporting; loaded alone so that
 * a problem in another verb's imports cannot fail these tests.
 */
const SCRIPT = [
  "import { devicesCommand } from './gateway/cli/devices.ts';",
  'const program = devicesCommand();',
  "try { await program.parseAsync(process.argv.slice(1), { from: 'user' }); }",
  "catch (err) { console.error('gridgate: ' + err.message); process.exitCode = 1; }",
].join('\n');
const CLI = ['--import', 'tsx', '--input-type=module', '-e', SCRIPT, '--'];

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // CI=true (as CI sets it) makes cli-table3's colour library refuse colour even on a terminal.
    const { NO_COLOR: _n, FORCE_COLOR: _f, CI: _ci, ...base } = process.env;
    execFile(
      process.execPath,
      [...CLI, ...args, '--url', url],
      { timeout: 60_000, env: { ...base, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The CLI with stdout a terminal: util-linux `script` runs it on a pseudo-terminal. */
function runOnTty(args: string[], env: Record<string, string> = {}): Promise<string> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, ...CLI, ...args, '--url', url].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    // CI=true (as CI sets it) makes cli-table3's colour library refuse colour even on a terminal.
    const { NO_COLOR: _n, FORCE_COLOR: _f, CI: _ci, ...base } = process.env;
    execFile(
      'script',
      ['-qec', command, '/dev/null'],
      { timeout: 60_000, env: { ...base, TERM: 'xterm', ...env } },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

describe('gridgate devices output', () => {
  it('every verb ends its output with a newline and prints no colour codes into a pipe', async () => {
    await registry.add(gauge('out-1'), 'tester');
    unknown.record({ transport: 'mqtt', id: 'stranger-1', remote: '10.0.0.9:50000' });
    await unknown.flush();
    const csv = join(dir, 'more.csv');
    await writeFile(csv, 'id,model,district,street,community,grid\nout-2,airbox-aq5,鼓楼区,s,c,g\n');
    const verbs: string[][] = [
      ['list'],
      ['list', '--json'],
      ['show', 'out-1'],
      ['show', 'out-1', '--json'],
      ['unknown'],
      ['watch', 'out-1', '--once'],
      ['set', 'out-1', 'labels.owner=城管'],
      ['audit', 'out-1'],
      ['export', '--format', 'csv'],
      ['export'],
      ['import', csv],
      ['confirm', 'out-1'],
      ['credentials', 'out-1', '--rotate'],
      ['retire', 'out-2'],
    ];
    for (const args of verbs) {
      const r = await run(args);
      const what = args.join(' ');
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      expect(r.stdout.length, what).toBeGreaterThan(0);
      expect(r.stdout.endsWith('\n'), `${what} output ends with a newline`).toBe(true);
      expect(r.stdout.includes(ESC), `${what} prints no colour codes into a pipe`).toBe(false);
    }
    expect((await run(['unknown'])).stdout).toContain('10.0.0.9:50000');
    for (const format of ['yaml', 'csv', 'json']) {
      const file = join(dir, `export.${format}`);
      expect((await run(['export', '--format', format, '-o', file])).code).toBe(0);
      expect((await readFile(file, 'utf8')).endsWith('\n'), `export -o ${file}`).toBe(true);
      expect((await stat(file)).mode & 0o777, `export -o ${file} is private`).toBe(0o600);
    }
  }, 180_000);

  it('colours tables on a terminal, unless NO_COLOR is set', async () => {
    expect(await runOnTty(['list'])).toContain(ESC);
    const plain = await runOnTty(['list'], { NO_COLOR: '1' });
    expect(plain).toContain('out-1');
    expect(plain).not.toContain(ESC);
  }, 60_000);

  it('decides on colour from the stream and the environment', () => {
    expect(colourWanted({ isTTY: true }, {})).toBe(true);
    expect(colourWanted({ isTTY: false }, {})).toBe(false);
    expect(colourWanted({}, {})).toBe(false);
    expect(colourWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true); // no-color.org: empty means unset
    expect(colourWanted({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  it('says what is true when asked for credentials without --rotate: the secret was never shown', async () => {
    const r = await run(['credentials', 'out-1']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/never shown again/);
    expect(r.stderr).toMatch(/only as a hash/);
    expect(r.stderr).toMatch(/--rotate/);
  }, 60_000);
});

describe('gridgate devices import --issue-secrets', () => {
  /** In process: the verb's printed lines. */
  async function cli(...args: string[]): Promise<string[]> {
    const out: string[] = [];
    const cmd = devicesCommand({ print: (l) => out.push(l), note: (l) => out.push(l) }).exitOverride();
    for (const c of cmd.commands) c.exitOverride();
    await cmd.parseAsync([...args, '--url', url], { from: 'user' });
    return out;
  }
  const header = 'id,model,district,street,community,grid\n';
  const row = (id: string) => `${id},airbox-aq5,鼓楼区,s,c,g\n`;

  it('without it, says the new devices have no secret yet and how to issue one', async () => {
    const file = join(dir, 'plain.csv');
    await writeFile(file, header + row('imp-0'));
    const out = await cli('import', file);
    expect(out[0]).toBe('1 row(s): 1 created, 0 updated, 0 unchanged');
    expect(out[1]).toMatch(/no MQTT secret yet.*--rotate.*--issue-secrets/);
  });

  it('issues and prints a working secret for each created device only', async () => {
    const file = join(dir, 'batch.csv');
    await writeFile(file, header + row('imp-0') + row('imp-1') + row('imp-2'));
    const out = await cli('import', file, '--issue-secrets');
    expect(out[0]).toBe('3 row(s): 2 created, 0 updated, 1 unchanged');
    const printed = new Map(
      out.flatMap((l) => {
        const m = /^(imp-\d)\s+(\S{32})$/.exec(l);
        return m ? [[m[1]!, m[2]!] as const] : [];
      }),
    );
    expect([...printed.keys()].sort()).toEqual(['imp-1', 'imp-2']);
    for (const [id, secret] of printed) expect(await credentials.verify(id, secret)).toBe(true);
    // imp-0 already existed: it was given no secret by this import.
    expect(await credentials.has('imp-0')).toBe(false);

    const again = await cli('import', file, '--issue-secrets');
    expect(again[1]).toMatch(/no device was created, so no secret was issued/);
    // Re-importing did not rotate the secrets handed out above.
    for (const [id, secret] of printed) expect(await credentials.verify(id, secret)).toBe(true);
  });

  it('--secrets-out writes them to a new file only its owner can read, and never overwrites one', async () => {
    const file = join(dir, 'batch.yaml');
    await writeFile(
      file,
      'devices:\n' +
        ['imp-y1', 'imp-y2']
          .map(
            (id) =>
              `  - id: ${id}\n    model: airbox-aq5\n    location: { district: 鼓楼区, street: s, community: c, grid: g }\n`,
          )
          .join(''),
    );
    const secretsFile = join(dir, 'secrets.csv');
    const out = await cli('import', file, '--issue-secrets', '--secrets-out', secretsFile);
    expect(out.join('\n')).toMatch(/secrets of 2 new device\(s\) written to .*secrets\.csv \(mode 0600\)/);
    expect((await stat(secretsFile)).mode & 0o777).toBe(0o600);
    const lines = (await readFile(secretsFile, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('device_id,mqtt_username,mqtt_password');
    expect(lines).toHaveLength(3);
    for (const l of lines.slice(1)) {
      const [id, user, secret] = l.split(',');
      expect(user).toBe(id);
      expect(await credentials.verify(id!, secret!)).toBe(true);
      expect(out.join('\n')).not.toContain(secret!);
    }

    // An existing file is refused before anything is imported.
    const other = join(dir, 'other.csv');
    await writeFile(other, header + row('imp-z1'));
    await expect(cli('import', other, '--issue-secrets', '--secrets-out', secretsFile)).rejects.toThrow(
      /exists; name a new file/,
    );
    expect(registry.get('imp-z1')).toBeUndefined();
    await expect(cli('import', other, '--secrets-out', join(dir, 'x.csv'))).rejects.toThrow(
      /needs --issue-secrets/,
    );
  });
});
