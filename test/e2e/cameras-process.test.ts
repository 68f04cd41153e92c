import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { tokenHash } from '../../gateway/http/auth.js';
import { type RtspSim, startRtspSim } from '../../simulators/rtsp/server.js';
import { LOCATION } from '../support/gateway.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'gateway/cli/main.ts');
const PASSWORD = `Proc-Pw-${randomUUID().slice(0, 8)}`;
const CAMERA = 'cam-proc-1';
const tokens = { installer: `gg_${randomUUID()}`, reader: `gg_${randomUUID()}` };

async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** ffmpeg processes below `pid` (tsx runs the gateway in a node process of its own). */
function ffmpegDescendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((r) => r.length === 3)
    .map(([p, pp, comm]) => ({ pid: Number(p), ppid: Number(pp), comm }));
  const below = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) {
      if (below.has(r.ppid) && !below.has(r.pid)) {
        below.add(r.pid);
        grew = true;
      }
    }
  }
  return rows.filter((r) => r.comm === 'ffmpeg' && below.has(r.pid)).map((r) => r.pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `gridgate start` as its own process, as an installer runs it: a live viewer with an installer
 * token gets MPEG-TS on the gateway's own port, a reader is refused; then the gateway is killed
 * with SIGKILL and no ffmpeg it started (analysis or live relay) is left behind.
 */
describe('camera processes of a gateway process', () => {
  let sim: RtspSim;
  let child: ChildProcess;
  let http = '';
  const out: string[] = [];

  beforeAll(async () => {
    sim = await startRtspSim({ cameras: [CAMERA], username: 'admin', password: PASSWORD });
    const dir = mkdtempSync(join(tmpdir(), 'gg-cam-proc-'));
    writeFileSync(
      join(dir, 'devices.yaml'),
      stringify({
        devices: [
          {
            id: CAMERA,
            model: 'rtsp-camera',
            location: LOCATION,
            state: 'active',
            rtsp: {
              url: sim.url(CAMERA, 'main'),
              subUrl: sim.url(CAMERA, 'sub'),
              username: 'admin',
              password: PASSWORD,
            },
          },
        ],
      }),
    );
    writeFileSync(
      join(dir, 'gridgate.yaml'),
      stringify({
        log: { level: 'info', pretty: false },
        http: { port: 0 },
        mqtt: { embedded: { port: 0 } },
        tsdb: { url: inject('vmUrl') },
        redis: { url: inject('redisUrl'), prefix: `gg-test-${randomUUID().slice(0, 8)}:` },
        devices: { import: 'devices.yaml' },
        rules: { watch: false },
        cameras: { snapshots: { dir: join(dir, 'snapshots') } },
        auth: {
          tokens: [
            { name: 'installer', role: 'installer', sha256: tokenHash(tokens.installer) },
            { name: 'dashboard', role: 'reader', sha256: tokenHash(tokens.reader) },
          ],
        },
      }),
    );
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDGATE_')));
    child = spawn(TSX, [CLI, 'start', '-c', join(dir, 'gridgate.yaml')], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    child.stdout?.on('data', (c: Buffer) => {
      const parts = (partial + c.toString()).split('\n');
      partial = parts.pop() ?? '';
      out.push(...parts.filter(Boolean));
    });
    child.stderr?.on('data', (c: Buffer) => out.push(c.toString()));
    const started = await until(
      '"gridgate started"',
      () => out.find((l) => l.includes('"gridgate started"')) ?? child.exitCode !== null,
    );
    expect(typeof started, out.join('\n')).toBe('string');
    const port = (JSON.parse(started as string) as { ports: { http: number } }).ports.http;
    http = `127.0.0.1:${port}`;
  }, 90_000);
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await sim?.stop();
  });

  it('streams MPEG-TS to an installer and refuses a reader and a missing token', async () => {
    const url = `ws://${http}/api/v1/cameras/${CAMERA}/live`;
    const refused = (headers: Record<string, string>) =>
      new Promise<number>((resolveStatus, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => {
          resolveStatus(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => reject(new Error('upgrade accepted')));
        ws.on('error', () => undefined);
      });
    expect(await refused({})).toBe(401);
    expect(await refused({ authorization: `Bearer ${tokens.reader}` })).toBe(403);
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${tokens.installer}` } });
    const data = await new Promise<Buffer>((resolveData, reject) => {
      let got = Buffer.alloc(0);
      ws.on('message', (m: Buffer) => {
        got = Buffer.concat([got, m]);
        if (got.length >= 188 * 20) resolveData(got);
      });
      ws.on('error', reject);
    });
    // Whole 188-byte MPEG-TS packets, each starting with the sync byte.
    expect(data.length % 188).toBe(0);
    for (let i = 0; i < data.length; i += 188) expect(data[i]).toBe(0x47);
    // Keep the viewer connected: the relay's processes must die with the gateway too.
  }, 60_000);

  it('leaves no ffmpeg behind when the gateway is killed with SIGKILL', async () => {
    const pid = child.pid!;
    // tsx runs the gateway in a child node process: SIGKILL that one, as a crash would.
    const gateway = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .map(Number)[0]!;
    const ffmpegs = await until('the analysis and live relay ffmpeg processes', () => {
      const list = ffmpegDescendants(pid);
      return list.length >= 2 ? list : undefined;
    });
    expect(out.join('\n')).not.toContain(PASSWORD);
    process.kill(gateway, 'SIGKILL');
    await until('every ffmpeg of the killed gateway to exit', () => ffmpegs.every((p) => !alive(p)), 20_000);
    expect(ffmpegs.filter(alive)).toEqual([]);
  }, 60_000);
});
