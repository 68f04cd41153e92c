import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Hj212Server } from '../../adapters/hj212/tcp-server.js';
import { type DeframeItem, Hj212Deframer } from '../../processors/hj212/deframer.js';
import { buildFrame } from '../../processors/hj212/frame.js';
import { QnWindow } from '../../processors/hj212/qn-window.js';
import { formatLocalCompact } from '../../processors/time.js';
import type { InboundMessage } from '../../processors/types.js';
import { mqttBridge, TestClient, until } from './support.js';

const SEG =
  'QN=20260101080000000;ST=22;CN=2011;PW=123456;MN=DUST0001;Flag=5;CP=&&DataTime=20260101080000;a34002-Rtd=80,a34002-Flag=N&&';
const FRAME = buildFrame(SEG).toString('latin1');

function kinds(items: DeframeItem[]): string[] {
  return items.map((i) => (i.kind === 'frame' ? 'frame' : i.reason));
}

describe('Hj212Deframer.endOfMessage (an MQTT payload ends its last frame)', () => {
  it('completes a frame whose CR LF, or LF, is missing', () => {
    for (const cut of [2, 1]) {
      const d = new Hj212Deframer();
      expect(d.push(Buffer.from(FRAME.slice(0, -cut), 'latin1'))).toEqual([]);
      const items = d.endOfMessage();
      expect(kinds(items)).toEqual(['frame']);
      expect(items[0]?.kind === 'frame' && items[0].data.toString('latin1')).toBe(SEG);
      expect(d.buffered).toBe(0);
    }
  });

  it('still checks the CRC, and still refuses a truncated frame', () => {
    const badCrc = new Hj212Deframer();
    badCrc.push(Buffer.from(`${FRAME.slice(0, -6)}0000`, 'latin1'));
    expect(kinds(badCrc.endOfMessage())).toEqual(['bad_crc']);
    const truncated = new Hj212Deframer();
    truncated.push(Buffer.from(FRAME.slice(0, -10), 'latin1'));
    expect(kinds(truncated.endOfMessage())).toEqual(['malformed']);
  });

  it('takes whole frames before the last one as a stream does', () => {
    const d = new Hj212Deframer();
    const items = [...d.push(Buffer.from(FRAME + FRAME.slice(0, -2), 'latin1')), ...d.endOfMessage()];
    expect(kinds(items)).toEqual(['frame', 'frame']);
  });
});

describe('QnWindow', () => {
  const p = (mn: string, qn: string | undefined, cn = '2011', pno?: number) => ({ mn, qn, cn, pno });

  it('knows a request seen before from the same station, and only that', () => {
    const w = new QnWindow();
    expect(w.seen(p('A', '1'))).toBe(false);
    expect(w.seen(p('A', '1'))).toBe(true);
    expect(w.seen(p('B', '1'))).toBe(false); // another station
    expect(w.seen(p('A', '1', '2051'))).toBe(false); // same QN, another command
    expect(w.seen(p('A', '2', '2011', 1))).toBe(false); // packet 1 of a split command
    expect(w.seen(p('A', '2', '2011', 2))).toBe(false); // packet 2 carries the same QN
    expect(w.seen(p('A', undefined))).toBe(false); // HJ/T 212-2005: no QN, never a duplicate
    expect(w.seen(p('A', undefined))).toBe(false);
  });

  it('is bounded per station and in stations', () => {
    const w = new QnWindow({ perMn: 3, maxStations: 2 });
    for (const qn of ['1', '2', '3', '4']) w.seen(p('A', qn));
    expect(w.seen(p('A', '1'))).toBe(false); // pushed out by 2, 3, 4
    expect(w.seen(p('A', '4'))).toBe(true);
    w.seen(p('B', '1'));
    w.seen(p('C', '1')); // A is the least recently heard: forgotten
    expect(w.stations).toBe(2);
    expect(w.seen(p('A', '4'))).toBe(false);
  });
});

describe('HJ 212 over MQTT, a resent request', () => {
  it('is answered again but passed on once, in the same payload or a later one', async () => {
    const mqtt = mqttBridge((mn) => (mn === 'DUST0001' ? { deviceId: 'dust-1' } : undefined));
    await mqtt.send('DUST0001', Buffer.from(FRAME + FRAME, 'latin1'));
    expect(mqtt.messages).toHaveLength(1);
    expect(mqtt.published).toHaveLength(2);
    await mqtt.send('DUST0001', Buffer.from(FRAME, 'latin1'));
    expect(mqtt.messages).toHaveLength(1);
    expect(mqtt.published).toHaveLength(3);
    expect(mqtt.rejects).toEqual([]);
  });
});

describe('Hj212Server clock warnings', () => {
  let server: Hj212Server | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.stop();
  });

  it('logs a station whose DataTime is hours off, once per hour, with the frames since', async () => {
    const lines: {
      level: number;
      msg: string;
      skewS?: number;
      mn?: string;
      framesOffSinceLastWarning?: number;
    }[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    });
    let now = Date.UTC(2026, 5, 1, 2, 0, 0);
    const messages: InboundMessage[] = [];
    server = new Hj212Server({
      host: '127.0.0.1',
      port: 0,
      lookup: (mn) => ({ deviceId: `dev-${mn}` }),
      onMessage: (m) => messages.push(m),
      onReject: () => {},
      logger: pino({ level: 'info' }, sink),
      clock: { now: () => now },
    });
    await server.start();
    const c = await TestClient.open(server.port);
    clients.push(c);
    let qn = 0;
    const send = async (mn: string, dataTimeMs: number) => {
      const q = `20260601100000${String(++qn).padStart(3, '0')}`;
      await c.write(
        buildFrame(
          `QN=${q};ST=22;CN=2011;PW=1;MN=${mn};Flag=5;CP=&&DataTime=${formatLocalCompact(dataTimeMs)};a34002-Rtd=80&&`,
        ),
      );
      await until(() => c.responses.length === qn, `response ${qn}`);
    };
    const warnings = () => lines.filter((l) => l.level === 40 && /hj212 DataTime/.test(l.msg));

    await send('GOOD', now - 2_000);
    for (let i = 0; i < 3; i++) await send('SLOW', now - 3 * 3_600_000);
    await send('FAST', now + 20 * 60_000);
    expect(messages).toHaveLength(5); // stored at DataTime, as the standard says: warned, not refused
    expect(messages.map((m) => m.receivedAt)).toEqual(Array(5).fill(now));
    expect(warnings().map((w) => [w.mn, w.skewS])).toEqual([
      ['SLOW', -10_800],
      ['FAST', 1_200],
    ]);
    expect(warnings()[0]?.msg).toMatch(/behind receive time.*China time, UTC\+8/);
    expect(warnings()[1]?.msg).toMatch(/ahead of receive time/);

    now += 3_600_001;
    await send('SLOW', now - 3 * 3_600_000);
    expect(warnings()).toHaveLength(3);
    expect(warnings()[2]).toMatchObject({ mn: 'SLOW', framesOffSinceLastWarning: 2 });
  });
});
