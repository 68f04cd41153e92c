import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { buildFrame } from '../../processors/hj212/frame.js';
import { TestClient } from '../hj212/support.js';
import { duplicateKeys } from '../security/json-keys.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'gateway/cli/main.ts');
const LOCATION = { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '网格-07' };
const HJ_PASSWORD = 'St4tion-PW-0451';
const WRONG_MQTT_PASSWORD = 'not-the-Secret-9931';

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

describe('`gridgate start` from a folder that is not the checkout (an installed gridgate)', () => {
  it('runs with the shipped rules, paths from its config file, a private capture without secrets, and clean log lines', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gg-anywhere-'));
    const confDir = mkdtempSync(join(tmpdir(), 'gg-etc-'));
    const mn = `ANY${Date.now() % 1_000_000}`;
    writeFileSync(
      join(confDir, 'devices.yaml'),
      stringify(
        {
          devices: [
            { id: 'any-gauge-1', model: 'hydrotek-wl300', location: LOCATION, state: 'active' },
            {
              id: 'any-dust-1',
              model: 'sinodust-yc200-hj212',
              location: LOCATION,
              state: 'active',
              hj212: { mn, password: HJ_PASSWORD },
            },
          ],
        },
        { aliasDuplicateObjects: false },
      ),
    );
    writeFileSync(
      join(confDir, 'gridgate.yaml'),
      stringify({
        log: { level: 'info', pretty: false },
        http: { port: 0 },
        mqtt: { embedded: { port: 0 } },
        hj212: { enabled: true, port: 0 },
        auth: { required: false },
        devices: { import: 'devices.yaml' }, // next to gridgate.yaml, not in cwd
      }),
    );
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDGATE_'))),
      GRIDGATE_REDIS__URL: inject('redisUrl'),
      GRIDGATE_REDIS__PREFIX: `gg-test-${Math.random().toString(36).slice(2, 10)}:`,
      GRIDGATE_TSDB__URL: inject('vmUrl'),
      // From a folder without node_modules, the worker threads started from source must find tsx
      // beside the code, not in the working directory (adapters/threads/ts-entry.mjs).
    };
    const out: string[] = [];
    let partial = '';
    child = spawn(TSX, [CLI, 'start', '-c', join(confDir, 'gridgate.yaml'), '--capture', 'capture.ndjson'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdout?.on('data', (c: Buffer) => {
      const parts = (partial + c.toString()).split('\n');
      partial = parts.pop() ?? '';
      out.push(...parts.filter((l) => l !== ''));
    });
    const started = () => out.find((l) => l.includes('"gridgate started"'));
    await until(
      `"gridgate started" (stderr: ${stderr})`,
      () => started() !== undefined || child?.exitCode !== null,
    );
    expect(child.exitCode, stderr).toBeNull();
    const ports = (JSON.parse(started() as string) as { ports: { mqtt: number; hj212: number } }).ports;

    // an HJ 212 station sends one reading, with its password in the frame
    const china = new Date(Date.now() + 8 * 3600_000).toISOString().replace(/\D/g, '').slice(0, 14);
    const station = await TestClient.open(ports.hj212);
    await station.write(
      buildFrame(
        `QN=${china}000;ST=22;CN=2011;PW=${HJ_PASSWORD};MN=${mn};Flag=4;CP=&&DataTime=${china};a34002-Rtd=88.5,a34002-Flag=N&&`,
      ),
    );
    const capture = join(cwd, 'capture.ndjson');
    const captured = () => {
      try {
        return readFileSync(capture, 'utf8');
      } catch {
        return '';
      }
    };
    await until('the reading in the capture', () => captured().includes('any-dust-1'));
    station.close();

    // a device with the wrong password, through the real mosquitto client
    await new Promise<void>((done) =>
      execFile(
        'mosquitto_pub',
        ['-h', '127.0.0.1', '-p', String(ports.mqtt), '-i', 'any-gauge-1', '-u', 'any-gauge-1'].concat([
          '-P',
          WRONG_MQTT_PASSWORD,
          '-t',
          'devices/any-gauge-1/telemetry',
          '-m',
          '{}',
        ]),
        () => done(),
      ),
    );
    await until('the refused login logged', () => out.some((l) => l.includes('mqtt login refused')));

    child.kill('SIGTERM');
    await until('the gateway to exit', () => child?.exitCode !== null);
    expect(child.exitCode, stderr).toBe(0);

    // the capture: private, and without the station's password
    expect(statSync(capture).mode & 0o777).toBe(0o600);
    const text = captured();
    expect(text).toContain(mn);
    expect(text).not.toContain(HJ_PASSWORD);
    expect(text).not.toContain('password');

    // log lines: JSON, each key once, no password of either kind
    expect(out.length).toBeGreaterThan(3);
    for (const line of out) {
      expect(() => JSON.parse(line), line).not.toThrow();
      expect(duplicateKeys(line), line).toEqual([]);
      expect(line).not.toContain(HJ_PASSWORD);
      expect(line).not.toContain(WRONG_MQTT_PASSWORD);
    }
    const refused = JSON.parse(out.find((l) => l.includes('mqtt login refused')) as string);
    expect(refused).toMatchObject({ clientId: 'any-gauge-1', remote: '127.0.0.1', reason: 'bad_secret' });
  });
});
