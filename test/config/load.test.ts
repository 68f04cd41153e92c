import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { GridgateError } from '../../processors/errors.js';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gg-cfg-'));
  const p = join(dir, 'gridgate.yaml');
  writeFileSync(p, text);
  return p;
}

describe('loadConfig', () => {
  it('runs with no file at all: every key has a default', () => {
    const cfg = loadConfig({ env: {} });
    expect(cfg.mqtt.embedded).toEqual({ host: '127.0.0.1', port: 1883, readBudgetMs: 0.5 });
    expect(cfg.mqtt.url).toBeUndefined();
    expect(cfg.tsdb.batchSize).toBe(5000);
    expect(cfg.http.port).toBe(8080);
    expect(Object.isFrozen(cfg.tsdb)).toBe(true);
  });

  it('reads a YAML file and lets GRIDGATE_* environment variables override it', () => {
    const p = file('tsdb:\n  batchSize: 100\n  token: abc\nmqtt:\n  embedded:\n    port: 1999\n');
    const cfg = loadConfig({
      file: p,
      env: {
        GRIDGATE_TSDB__BATCH_SIZE: '250',
        GRIDGATE_TSDB__TOKEN: '12345',
        GRIDGATE_MQTT__URL: 'mqtt://10.0.0.1:1883',
      },
    });
    expect(cfg.tsdb.batchSize).toBe(250);
    expect(cfg.tsdb.token).toBe('12345');
    expect(cfg.mqtt.embedded.port).toBe(1999);
    expect(cfg.mqtt.url).toBe('mqtt://10.0.0.1:1883');
  });

  it('lists every problem at once, with file, line and path, and refuses to start', () => {
    const p = file(
      'http:\n  port: 99999\ntsdb:\n  url: ftp://db:21\n  batchSize: "many"\n  flushIntervalMs: 1\nmqtt:\n  url: localhost\nbogus: 1\n',
    );
    let err: unknown;
    try {
      loadConfig({ file: p, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GridgateError);
    const e = err as GridgateError;
    expect(e.code).toBe('GG_ERR_CONFIG_INVALID');
    expect(e.details).toHaveLength(6);
    const all = e.details.join('\n');
    expect(all).toMatch(/gridgate\.yaml:2:\d+ http\.port/);
    expect(all).toMatch(/gridgate\.yaml:4:\d+ tsdb\.url: must be an http:\/\/ or https:\/\/ URL/);
    expect(all).toMatch(/gridgate\.yaml:5:\d+ tsdb\.batchSize/);
    expect(all).toMatch(/tsdb\.flushIntervalMs/);
    expect(all).toMatch(/mqtt\.url: must be a broker URL/);
    expect(all).toMatch(/unknown key\(s\) 'bogus'/);
  });

  it('reports unreadable files and invalid YAML with a code', () => {
    expect(() => loadConfig({ file: '/nonexistent/gridgate.yaml', env: {} })).toThrow(/GG_ERR_CONFIG_READ/);
    expect(() => loadConfig({ file: file('http: [\n'), env: {} })).toThrow(/not valid YAML/);
  });
});
