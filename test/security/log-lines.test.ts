import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LogThrottle } from '../../adapters/mqtt/auth-failures.js';
import { createLogger } from '../../gateway/log.js';
import { duplicateKeys } from './json-keys.js';
import {
  mosquitto,
  type SecuredBroker,
  type SecurityEnv,
  securedBroker,
  securityEnv,
  waitFor,
} from './support.js';

/** A logger exactly as `gridgate start` builds it, writing into an array of raw lines. */
function capturedLogger(level = 'info' as const) {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l !== '') lines.push(l);
      cb();
    },
  });
  return { logger: createLogger({ level, pretty: false }, dest), lines };
}

describe('duplicateKeys (the checker itself)', () => {
  it('finds a repeated key per object, not across objects or inside strings', () => {
    expect(duplicateKeys('{"a":1,"b":{"a":2},"c":"\\"a\\":3"}')).toEqual([]);
    expect(duplicateKeys('{"component":"x","n":[{"a":1},{"a":2}],"component":"y"}')).toEqual(['component']);
  });
});

describe('log lines carry each key once', () => {
  it('a component naming itself under a logger already named keeps one "component" (the inner one)', async () => {
    const { logger, lines } = capturedLogger();
    const tsdb = logger.child({ component: 'tsdb' });
    const writer = tsdb.child({ component: 'influx-writer', batch: 1 });
    writer.info({ lines: 5 }, 'flushed');
    tsdb.info('outer');
    writer.child({ reqId: 'r1' }).warn('nested');
    await waitFor('3 lines', () => lines.length === 3, 5000);
    for (const line of lines) expect(duplicateKeys(line), line).toEqual([]);
    expect(lines.map((l) => (JSON.parse(l) as { component: string }).component)).toEqual([
      'influx-writer',
      'tsdb',
      'influx-writer',
    ]);
    expect(JSON.parse(lines[2] as string)).toMatchObject({ batch: 1, reqId: 'r1' });
  });
});

describe('LogThrottle', () => {
  it('lets one line per key per interval through and reports how many were held back', () => {
    const t = new LogThrottle(60_000);
    expect(t.admit(['id:a', 'ip:1'], 0)).toBe(0);
    expect(t.admit(['id:a', 'ip:1'], 1000)).toBeUndefined();
    expect(t.admit(['id:b', 'ip:1'], 2000)).toBeUndefined(); // same address, other client id
    expect(t.admit(['id:c', 'ip:2'], 3000)).toBe(0); // unrelated client
    expect(t.admit(['id:a', 'ip:1'], 61_000)).toBe(2);
    expect(t.admit(['id:a', 'ip:1'], 121_001)).toBe(0);
  });

  it('stays bounded', () => {
    const t = new LogThrottle(60_000, 100);
    for (let i = 0; i < 10_000; i++) t.admit([`id:${i}`], 0);
    // the first keys were evicted, so they may log again at once
    expect(t.admit(['id:0'], 1)).toBe(0);
  });
});

describe('refused MQTT logins are logged, rate-limited, without the password', () => {
  let env: SecurityEnv;
  let sb: SecuredBroker;
  let secret: string;
  const captured = capturedLogger();
  let now = 1_000_000;

  beforeAll(async () => {
    env = await securityEnv(inject('redisUrl'));
    secret = (await env.addDevices(['log-gauge-1']))['log-gauge-1'] as string;
    sb = await securedBroker(env, {
      // as the gateway wires it: the root logger, the auth names itself
      logger: captured.logger,
      clock: { now: () => now },
      maxFailures: 100,
    });
  });
  afterAll(async () => {
    await sb?.stop();
    await env?.close();
  });

  const pub = (password: string, clientId = 'log-gauge-1') =>
    mosquitto('mosquitto_pub', [
      '-p',
      String(sb.broker.port),
      '-i',
      clientId,
      '-u',
      'log-gauge-1',
      '-P',
      password,
      '-t',
      'devices/log-gauge-1/telemetry',
      '-m',
      '{"level_m":1}',
    ]);
  const refusedLines = () =>
    captured.lines.filter((l) => (JSON.parse(l) as { msg: string }).msg.startsWith('mqtt login refused'));

  it('logs the first failure with client id, reason and remote address, then holds the rest back', async () => {
    const wrong = 'Wr0ng-Pa55word-xyzzy';
    expect((await pub(wrong)).code).not.toBe(0);
    await waitFor('the first refused line', () => refusedLines().length === 1);
    const first = JSON.parse(refusedLines()[0] as string) as Record<string, unknown>;
    expect(first).toMatchObject({
      level: 40,
      component: 'mqtt-auth',
      clientId: 'log-gauge-1',
      reason: 'bad_secret',
      remote: '127.0.0.1',
      suppressed: 0,
    });

    for (let i = 0; i < 3; i++) expect((await pub(wrong)).code).not.toBe(0);
    await waitFor('the refusals counted', () => sb.auth.stats.refused.bad_secret === 4);
    expect(refusedLines()).toHaveLength(1);

    now += 61_000;
    expect((await pub(wrong)).code).not.toBe(0);
    await waitFor('the next minute’s line', () => refusedLines().length === 2);
    const second = JSON.parse(refusedLines()[1] as string) as Record<string, unknown>;
    expect(second).toMatchObject({ clientId: 'log-gauge-1', reason: 'bad_secret', suppressed: 3 });
    expect(second.msg).toMatch(/3 more refused/);

    // the right password still works, and no line anywhere holds either password
    expect((await pub(secret)).code).toBe(0);
    const all = captured.lines.join('\n');
    expect(all).not.toContain(wrong);
    expect(all).not.toContain(secret);
    for (const line of captured.lines) expect(duplicateKeys(line), line).toEqual([]);
  });
});
