import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { mosquittoPub, startGateway } from '../support/gateway.js';

const exec = promisify(execFile);

/** The gateway's embedded broker keeps sessions and retained messages in Redis (issue 19). */
describe('embedded broker across a gateway restart', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it("keeps a retained message and a persistent client's queued QoS 1 message", async () => {
    const env = {
      GRIDGATE_REDIS__PREFIX: `gg-restart-${randomUUID().slice(0, 8)}:`,
      GRIDGATE_MQTT__AUTH__SECRET_KEY_FILE: join(
        mkdtempSync(join(tmpdir(), 'gg-restart-')),
        'mqtt-secret.key',
      ),
    };
    const first = await startGateway([], env);
    gw = first.gw;
    const clientId = `ops-console-${randomUUID().slice(0, 8)}`;
    const sub = await connectAsync(first.mqttUrl, { clientId, clean: false });
    await sub.subscribeAsync('site/+/notice', { qos: 1 });
    await sub.endAsync();
    // While the console is away: one retained notice, one queued for its session.
    await mosquittoPub(first.gw.ports.mqtt!, 'site/a/notice', 'retained notice', { qos: 1 });
    await exec('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(first.gw.ports.mqtt),
      '-t',
      'site/b/notice',
      '-m',
      'kept',
      '-q',
      '1',
      '-r',
    ]);
    // aedes acknowledges a QoS 1 publish before it queues the message for offline sessions: wait
    // until both are queued in Redis, then restart.
    const redis = new Redis(inject('redisUrl'));
    const queue = `${env.GRIDGATE_REDIS__PREFIX}mqtt:outgoing:${clientId}`;
    const until = Date.now() + 10_000;
    while ((await redis.llen(queue)) < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    redis.disconnect();
    await first.gw.stop();
    gw = undefined;

    const second = await startGateway([], env);
    gw = second.gw;
    const { stdout } = await exec(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(second.gw.ports.mqtt), '-t', 'site/b/notice', '-C', '1', '-W', '10'],
      { timeout: 15_000 },
    );
    expect(stdout.trim()).toBe('kept');

    const back = await connectAsync(second.mqttUrl, { clientId, clean: false });
    const got: string[] = [];
    back.on('message', (_t, p) => got.push(p.toString()));
    expect(back.connected).toBe(true);
    const deadline = Date.now() + 10_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await back.endAsync();
    expect(got.sort()).toEqual(['kept', 'retained notice']);
  });
});
