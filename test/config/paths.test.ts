import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { loadConfig } from '../../config/load.js';
import { PATH_KEYS, shippedRulesDir } from '../../config/paths.js';
import { configSchema } from '../../config/schema.js';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'gateway/cli/main.ts');

/** The gridgate CLI from source, run in `cwd` (a folder that is not the checkout). */
async function gridgate(cwd: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDGATE_')));
  return exec(TSX, [CLI, ...args], { cwd, env: { ...clean, ...env }, timeout: 60_000 });
}

describe('every PATH_KEYS entry is a key of the schema', () => {
  it('names a string setting (a renamed key fails here, not silently in production)', () => {
    for (const path of PATH_KEYS) {
      let node: z.ZodType = configSchema;
      for (const key of path) {
        // unwrap optional/default/prefault wrappers down to the object that holds `key`
        let inner = node as unknown as { shape?: Record<string, z.ZodType>; unwrap?: () => z.ZodType };
        for (let i = 0; i < 5 && !inner.shape && inner.unwrap; i++) inner = inner.unwrap() as typeof inner;
        expect(inner.shape, path.join('.')).toBeDefined();
        const next = inner.shape?.[key];
        expect(next, path.join('.')).toBeDefined();
        node = next as z.ZodType;
      }
    }
  });
});

describe('relative paths in a config file resolve against the file, not the working directory', () => {
  it('rules.dir, devices.import, ingest.capture, TLS files, cameras.snapshots.dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-paths-'));
    const etc = join(dir, 'etc', 'gridgate');
    mkdirSync(etc, { recursive: true });
    const file = join(etc, 'gridgate.yaml');
    writeFileSync(
      file,
      [
        'rules: { dir: rules }',
        'devices: { import: ./devices.csv }',
        'ingest: { capture: ../../var/capture.ndjson }',
        'http: { tls: { cert: tls/cert.pem, key: /abs/key.pem } }',
        'mqtt: { embedded: { tls: { cert: tls/mqtt.pem, key: tls/mqtt.key } } }',
        'cameras: { ffmpeg: ffmpeg, snapshots: { dir: snapshots } }',
      ].join('\n'),
    );
    const cfg = loadConfig({ file, env: {} });
    expect(cfg.rules.dir).toBe(join(etc, 'rules'));
    expect(cfg.devices.import).toBe(join(etc, 'devices.csv'));
    expect(cfg.ingest.capture).toBe(join(dir, 'var', 'capture.ndjson'));
    expect(cfg.http.tls).toEqual({ cert: join(etc, 'tls/cert.pem'), key: '/abs/key.pem' });
    expect(cfg.mqtt.embedded.tls).toEqual({
      cert: join(etc, 'tls/mqtt.pem'),
      key: join(etc, 'tls/mqtt.key'),
    });
    expect(cfg.cameras.snapshots.dir).toBe(join(etc, 'snapshots'));
    // a bare program name is looked up in PATH, not next to the file
    expect(cfg.cameras.ffmpeg).toBe('ffmpeg');
  });

  it('a path given in the environment (or on the command line) stays relative to the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-paths-'));
    const file = join(dir, 'gridgate.yaml');
    writeFileSync(file, 'rules: { dir: from-file }\n');
    const cfg = loadConfig({
      file,
      env: { GRIDGATE_RULES__DIR: 'from-env', GRIDGATE_INGEST__CAPTURE: 'cap.ndjson' },
    });
    expect(cfg.rules.dir).toBe('from-env');
    expect(cfg.ingest.capture).toBe('cap.ndjson');
  });
});

describe('the default rules folder is the one shipped in the package', () => {
  it('is absolute and holds the shipped rule files, whatever the working directory', () => {
    const cfg = loadConfig({ env: {} });
    expect(isAbsolute(cfg.rules.dir)).toBe(true);
    expect(cfg.rules.dir).toBe(shippedRulesDir());
    expect(existsSync(join(cfg.rules.dir, 'flood.yaml'))).toBe(true);
  });

  it('`gridgate rules validate` and `config show` from another folder find it', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'gg-cwd-'));
    const shown = JSON.parse((await gridgate(elsewhere, ['config', 'show'])).stdout) as {
      rules: { dir: string };
    };
    expect(shown.rules.dir).toBe(join(ROOT, 'config', 'rules'));
    const { stdout } = await gridgate(elsewhere, ['rules', 'validate', shown.rules.dir]);
    expect(stdout).toMatch(/rule\(s\) valid/);
  });

  it('a config file in a third folder: its relative paths follow it, not the working directory', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'gg-cwd-'));
    const confDir = mkdtempSync(join(tmpdir(), 'gg-conf-'));
    writeFileSync(join(confDir, 'gridgate.yaml'), 'devices: { import: devices.yaml }\n');
    const shown = JSON.parse(
      (await gridgate(elsewhere, ['config', 'show', '-c', join(confDir, 'gridgate.yaml')])).stdout,
    ) as { devices: { import: string } };
    expect(shown.devices.import).toBe(join(confDir, 'devices.yaml'));
  });
});
