import { randomBytes, randomInt } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DeadLetterStore } from '../../processors/deadletters.js';
import { DeviceRateLimiter } from '../../processors/limits/device-rate-limiter.js';
import { Pipeline } from '../../processors/pipeline.js';
import type { Reading } from '../../processors/types.js';
import {
  models,
  quiet,
  type SecuredBroker,
  type SecurityEnv,
  securedBroker,
  securityEnv,
  waitFor,
} from './support.js';

/**
 * Hostile input at the broker and the pipeline (issue 4, Done when): thousands of random and
 * malformed packets on raw TCP, and thousands of random payloads from an authenticated device.
 * The process stays up, memory stays bounded, nothing gets in, and every reject is counted.
 */

let env: SecurityEnv;
let sb: SecuredBroker;
let secrets: Record<string, string>;
let pipeline: Pipeline;
const readings: Reading[] = [];
let rateLimited = 0;
const MAX_PAYLOAD = 1024;

beforeAll(async () => {
  env = await securityEnv(inject('redisUrl'));
  secrets = await env.addDevices(['fz-1', 'fz-2']);
  const deadLetters = new DeadLetterStore({ capacity: 100, logger: quiet });
  pipeline = new Pipeline({
    devices: env.registry,
    models,
    sinks: [{ write: (r) => void readings.push(r) }],
    rejects: deadLetters,
    limits: { maxPayloadBytes: MAX_PAYLOAD, maxDepth: 16 },
    logger: quiet,
  });
  const limiter = new DeviceRateLimiter({ ratePerS: 1e6, burst: 1e6 });
  sb = await securedBroker(
    env,
    // Every attempt here comes from 127.0.0.1: no address lockout, so each refusal keeps its own reason.
    { maxFailuresPerAddress: 1e9, maxFailures: 1e9 },
    {
      maxPayloadBytes: MAX_PAYLOAD,
      onMessage: (m) => (limiter.admit(m.deviceId) ? pipeline.handle(m) : rateLimited++),
      onUnrouted: (topic) => pipeline.unroutable('mqtt', topic, Buffer.alloc(0)),
    },
  );
});
afterAll(async () => {
  await sb?.stop();
  await env?.close();
});

/**
 * Sends the chunks on one raw TCP connection and waits until the broker closes it. `end`
 * half-closes first (for input the broker would otherwise wait on); a CONNECT is left open, so the
 * broker answers it before it sees the end of the stream.
 */
function rawSession(port: number, chunks: readonly Buffer[], end: boolean): Promise<void> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 3000);
    s.on('error', () => undefined);
    s.on('close', done);
    // Read (and drop) whatever the broker answers, or the socket never sees the broker's FIN.
    s.resume();
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
      if (end) s.end();
    });
  });
}

async function barrage(sessions: readonly (readonly Buffer[])[], end = true, parallel = 25): Promise<void> {
  for (let i = 0; i < sessions.length; i += parallel) {
    await Promise.all(sessions.slice(i, i + parallel).map((c) => rawSession(sb.broker.port, c, end)));
  }
}

function str(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** An MQTT 3.1.1 CONNECT (§3.1); `level` other than 4 is an unacceptable protocol level. */
function connectPacket(o: {
  clientId: string;
  username?: string;
  password?: Buffer;
  level?: number;
}): Buffer {
  let flags = 0x02;
  const payload = [str(o.clientId)];
  if (o.username !== undefined) {
    flags |= 0x80;
    payload.push(str(o.username));
  }
  if (o.password !== undefined) {
    flags |= 0x40;
    payload.push(str(o.password));
  }
  const variable = Buffer.concat([str('MQTT'), Buffer.from([o.level ?? 4, flags, 0, 30])]);
  const body = Buffer.concat([variable, ...payload]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

const heapBefore = process.memoryUsage().heapUsed;

describe('malformed packets at the broker', () => {
  it('closes connections that announce a huge remaining length before buffering, each counted', async () => {
    const before = sb.broker.stats.packetTooLarge;
    const sessions = Array.from({ length: 300 }, (_, i) => [
      Buffer.from([i % 2 === 0 ? 0x30 : 0x10, 0xff, 0xff, 0xff, 0x7f]),
      randomBytes(randomInt(0, 200)),
    ]);
    await barrage(sessions);
    expect(sb.broker.stats.packetTooLarge - before).toBe(sessions.length);
  });

  it('refuses well-formed CONNECTs with bogus credentials, each counted by reason', async () => {
    const before = { ...sb.auth.stats.refused };
    const n = 600;
    const sessions = Array.from({ length: n }, (_, i) => {
      const kind = i % 4;
      const id = `fz-${randomBytes(4).toString('hex')}`;
      if (kind === 0) return [connectPacket({ clientId: id, username: id, password: randomBytes(12) })];
      if (kind === 1) return [connectPacket({ clientId: id })];
      if (kind === 2)
        return [
          connectPacket({ clientId: 'fz-1', username: 'fz-1', password: randomBytes(randomInt(1, 64)) }),
        ];
      return [connectPacket({ clientId: id, username: 'fz-1', password: Buffer.from(secrets['fz-1']!) })];
    });
    await barrage(sessions, false);
    const r = sb.auth.stats.refused;
    expect(r.unknown_device - before.unknown_device).toBe(n / 4);
    expect(r.no_credentials - before.no_credentials).toBe(n / 4);
    expect(r.bad_secret - before.bad_secret).toBe(n / 4);
    expect(r.client_id_mismatch - before.client_id_mismatch).toBe(n / 4);
    expect(sb.auth.stats.accepted.device).toBe(0);
  });

  it('survives random bytes, truncated headers and broken CONNECTs, and counts the errors', async () => {
    const errorsBefore = sb.broker.stats.connectionErrors + sb.broker.stats.clientErrors;
    const sessions: Buffer[][] = [];
    for (let i = 0; i < 500; i++) {
      // Random packets (never a valid first CONNECT, whose refusals are counted above).
      const chunks = Array.from({ length: 5 }, () => randomBytes(randomInt(1, 64)));
      const first = chunks[0]!;
      if (first[0]! >> 4 === 1) first[0] = 0x20 | (first[0]! & 0x0f);
      sessions.push(chunks);
    }
    for (let i = 0; i < 200; i++) sessions.push([Buffer.from([0x10, 0xff, 0xff])]); // truncated length
    for (let i = 0; i < 200; i++) {
      const whole = connectPacket({ clientId: `t-${i}`, username: 'u', password: Buffer.from('p') });
      sessions.push([whole.subarray(0, randomInt(1, whole.length - 1))]); // truncated CONNECT
    }
    for (let i = 0; i < 200; i++) sessions.push([connectPacket({ clientId: `v-${i}`, level: 9 })]); // bad protocol level
    for (let i = 0; i < 200; i++) {
      const p = connectPacket({ clientId: `r-${i}` });
      p[p.length - `r-${i}`.length - 3]! |= 0x01; // reserved connect flag [MQTT-3.1.2-3]
      sessions.push([p]);
    }
    await barrage(sessions);
    const errors = sb.broker.stats.connectionErrors + sb.broker.stats.clientErrors - errorsBefore;
    // Truncated input just ends; every session whose bytes were complete and wrong is an error.
    expect(errors).toBeGreaterThanOrEqual(400);
    expect(sb.auth.stats.accepted.device).toBe(0);
  });
});

describe('random payloads from an authenticated device', () => {
  it('turns each into readings or counted rejections, drops oversize ones, and keeps going', async () => {
    const c = await connectAsync(`mqtt://127.0.0.1:${sb.broker.port}`, {
      clientId: 'fz-1',
      username: 'fz-1',
      password: secrets['fz-1'],
      reconnectPeriod: 0,
    });
    const ts = Math.floor(Date.now() / 1000);
    let valid = 0;
    let invalid = 0;
    let oversize = 0;
    const N = 3000;
    for (let i = 0; i < N; i++) {
      let payload: Buffer;
      switch (i % 6) {
        case 0:
          payload = Buffer.from(JSON.stringify({ ts, wl: randomInt(0, 5000), bat: 3600 }));
          valid++;
          break;
        case 1:
          payload = randomBytes(randomInt(0, 300));
          invalid++;
          break;
        case 2:
          payload = Buffer.from(`${'['.repeat(randomInt(17, 500))}1`);
          invalid++;
          break;
        case 3:
          payload = Buffer.from(JSON.stringify([randomInt(0, 9), 'x', null]));
          invalid++;
          break;
        case 4:
          payload = Buffer.from(
            JSON.stringify({ ts: 'never', wl: 'high', [randomBytes(3).toString('hex')]: {} }),
          );
          invalid++;
          break;
        default:
          payload = randomBytes(MAX_PAYLOAD + randomInt(1, 4000));
          oversize++;
      }
      c.publish('devices/fz-1/telemetry', payload, { qos: 0 });
    }
    // QoS 1 after the QoS 0 burst: the broker handles one client's packets in order.
    await c.publishAsync('devices/fz-1/telemetry', JSON.stringify({ ts, wl: 1 }), { qos: 1 });
    valid++;
    const expected = N + 1 - oversize;
    await waitFor('all payloads', () => pipeline.stats().received + rateLimited === expected, 30_000);
    expect(c.connected).toBe(true);
    await c.endAsync();

    const st = pipeline.stats();
    const rejected = Object.values(st.rejected).reduce((a, b) => a + b, 0);
    expect(rateLimited).toBe(0);
    expect(sb.broker.stats.oversize).toBe(oversize);
    expect(rejected).toBeGreaterThanOrEqual(invalid);
    expect(new Set(readings.map((r) => r.device))).toEqual(new Set(['fz-1']));
    expect(readings.filter((r) => r.fields.water_level_m !== undefined)).toHaveLength(valid);
  });

  it('still serves a well-behaved device afterwards, with memory bounded', async () => {
    const c = await connectAsync(`mqtt://127.0.0.1:${sb.broker.port}`, {
      clientId: 'fz-2',
      username: 'fz-2',
      password: secrets['fz-2'],
      reconnectPeriod: 0,
    });
    await c.publishAsync(
      'devices/fz-2/telemetry',
      JSON.stringify({ ts: Math.floor(Date.now() / 1000), wl: 7 }),
      {
        qos: 1,
      },
    );
    await waitFor('fz-2 reading', () => readings.some((r) => r.device === 'fz-2'));
    await c.endAsync();
    expect(sb.auth.stats.accepted.device).toBe(2);
    // Generous: a leak of the junk (a few MB per thousand sessions) would show; GC noise would not.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(150 * 1024 * 1024);
  });
});
