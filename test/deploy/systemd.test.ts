import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startGateway } from '../support/gateway.js';

const exec = promisify(execFile);
const root = process.cwd();
const UNIT = join(root, 'deploy/gridgate.service');
const CONFIG = join(root, 'deploy/gridgate.yaml');
const ENV = join(root, 'deploy/gridgate.env.example');

/** `Key=value` lines of the unit's [Service] section (a key may repeat). */
function serviceSection(): [string, string][] {
  const text = readFileSync(UNIT, 'utf8');
  const body = text.slice(text.indexOf('[Service]'), text.indexOf('[Install]'));
  return body
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}
function directive(key: string): string | undefined {
  return serviceSection().find(([k]) => k === key)?.[1];
}

/**
 * deploy/gridgate.service as systemd reads it. `systemd-analyze` (Debian package systemd) works
 * without a running systemd: `verify` loads the unit and checks every key and the ExecStart
 * binary, `security --offline` rates the sandbox. What it cannot check here: that the gridgate user
 * exists (it is created at install) and that the package is installed where ExecStart points.
 */
describe('deploy/gridgate.service', () => {
  it('passes systemd-analyze verify with nothing to say', async () => {
    const { stdout, stderr } = await exec('systemd-analyze', ['verify', UNIT], { timeout: 30_000 });
    // verify exits 0 on unknown keys and bad values too, and only prints them: silence is the pass.
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });

  it('is rated OK by systemd-analyze security', async () => {
    const { stdout } = await exec('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], {
      timeout: 30_000,
    });
    const m = /Overall exposure level for gridgate\.service: ([\d.]+) (\w+)/.exec(stdout);
    expect(m, stdout.slice(-500)).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2);
    expect(m![2]).toBe('OK');
  });

  it('runs as gridgate, hardened, with secrets from an EnvironmentFile and data in its state directory', () => {
    expect(directive('User')).toBe('gridgate');
    expect(directive('NoNewPrivileges')).toBe('yes');
    expect(directive('ProtectSystem')).toBe('strict');
    expect(directive('ReadWritePaths')).toBe('/var/lib/gridgate');
    expect(directive('StateDirectory')).toBe('gridgate');
    expect(directive('EnvironmentFile')).toBe('/etc/gridgate/gridgate.env');
    expect(directive('Restart')).toBe('on-failure');
    // V8's JIT needs writable-then-executable pages: this one would stop node at start.
    expect(directive('MemoryDenyWriteExecute')).toBeUndefined();
    expect(directive('ExecStart')).toMatch(/ start --config \/etc\/gridgate\/gridgate\.yaml$/);
  });

  it("waits longer for a stop than gridgate's own bounded stop takes at worst", async () => {
    const { gw } = await startGateway([], { GRIDGATE_HJ212__ENABLED: 'true', GRIDGATE_HJ212__PORT: '0' });
    try {
      // The unit must follow whatever components the gateway stops, each with its own bound.
      const worstMs = gw.stopBoundMs();
      expect(worstMs).toBeGreaterThan(0);
      const timeout = /^(\d+)s$/.exec(directive('TimeoutStopSec') ?? '');
      expect(timeout).not.toBeNull();
      expect(Number(timeout![1]) * 1000).toBeGreaterThan(worstMs);
    } finally {
      await gw.stop();
    }
  });
});

describe('deploy/gridgate.yaml and gridgate.env.example', () => {
  const env = Object.fromEntries(
    readFileSync(ENV, 'utf8')
      .split('\n')
      .filter((l) => /^GRIDGATE_\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

  it('load as a valid configuration, with the example secrets taken from the environment', () => {
    const cfg = loadConfig({ file: CONFIG, env });
    expect(cfg.redis.url).toBe(env.GRIDGATE_REDIS__URL);
    expect(cfg.auth.required).toBe(true);
    expect(cfg.mqtt.auth.required).toBe(true);
    expect(cfg.http.tls).toBeDefined();
    expect(cfg.mqtt.embedded.tls).toBeDefined();
    expect(new URL(cfg.tsdb.url).hostname).toBe('127.0.0.1');
    expect(cfg.cameras.snapshots.dir.startsWith('/var/lib/gridgate/')).toBe(true);
  });

  it('keep secrets out of the world-readable config file', () => {
    const cfg = loadConfig({ file: CONFIG, env: {} });
    expect(new URL(cfg.redis.url).password).toBe('');
    expect(cfg.tsdb.token).toBe('');
    expect(cfg.mqtt.password).toBeUndefined();
  });
});
