import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { maskSecrets, redactUrl } from '../../config/redact.js';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

describe('redactUrl', () => {
  it('masks the password and credential query parameters, and leaves a clean URL as written', () => {
    expect(redactUrl('redis://:r3dis-Pw@cache.local:6379/0')).toBe('redis://:***@cache.local:6379/0');
    expect(redactUrl('mqtt://gw:Mq77-pw@broker:1883')).toBe('mqtt://gw:***@broker:1883');
    expect(redactUrl('https://influx.local:8086/?token=abc&org=x')).toBe(
      'https://influx.local:8086/?token=***&org=x',
    );
    expect(redactUrl('http://127.0.0.1:8428')).toBe('http://127.0.0.1:8428');
    expect(redactUrl('redis://user:p@ss@[bad')).not.toContain('p@ss');
  });

  it('maskSecrets: secret keys and URL credentials anywhere in the tree', () => {
    expect(
      maskSecrets({ a: { url: 'rediss://u:pw1@h', list: ['mqtts://x:pw2@h'] }, token: 't', password: '' }),
    ).toEqual({ a: { url: 'rediss://u:***@h', list: ['mqtts://x:***@h'] }, token: '***', password: '' });
  });
});

describe('`gridgate config show`', () => {
  it('masks credentials inside redis.url, tsdb.url and mqtt.url as it masks tokens and passwords', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-show-'));
    const file = join(dir, 'gridgate.yaml');
    writeFileSync(
      file,
      [
        'redis: { url: "redis://default:R3dis-Secret@cache.internal:6379/2" }',
        'tsdb: { url: "https://writer:Tsdb-Secret@vm.internal:8428", token: Tsdb-Token }',
        'mqtt: { url: "mqtts://gw:Mqtt-Url-Secret@broker.internal:8883", password: Mqtt-Password }',
      ].join('\n'),
    );
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDGATE_')));
    const { stdout } = await exec(
      join(ROOT, 'node_modules/.bin/tsx'),
      [join(ROOT, 'gateway/cli/main.ts'), 'config', 'show', '-c', file],
      { cwd: dir, env, timeout: 60_000 },
    );
    for (const secret of ['R3dis-Secret', 'Tsdb-Secret', 'Mqtt-Url-Secret', 'Tsdb-Token', 'Mqtt-Password']) {
      expect(stdout).not.toContain(secret);
    }
    const shown = JSON.parse(stdout) as {
      redis: { url: string };
      tsdb: { url: string; token: string };
      mqtt: { url: string; password: string };
    };
    expect(shown.redis.url).toBe('redis://default:***@cache.internal:6379/2');
    expect(shown.tsdb.url).toBe('https://writer:***@vm.internal:8428/');
    expect(shown.mqtt.url).toBe('mqtts://gw:***@broker.internal:8883');
    expect(shown.tsdb.token).toBe('***');
    expect(shown.mqtt.password).toBe('***');
  });
});
