import { describe, expect, it } from 'vitest';
import { FrameMeter } from '../../adapters/mqtt/frame-meter.js';

/** A PUBLISH (QoS 0) with the given topic and payload: fixed header, topic, payload (MQTT 3.1.1 §3.3). */
function publish(topic: string, payload: Buffer): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, payload]);
  const len: number[] = [];
  let n = body.length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...len]), body]);
}

describe('FrameMeter', () => {
  it('lets packets up to the cap through, across any chunking', () => {
    const stream = Buffer.concat([
      publish('a/b', Buffer.alloc(200)),
      publish('c', Buffer.alloc(1000)),
      Buffer.from([0xc0, 0]),
    ]);
    for (const size of [1, 2, 3, 7, 128, stream.length]) {
      const meter = new FrameMeter(1004);
      for (let i = 0; i < stream.length; i += size)
        expect(meter.feed(stream.subarray(i, i + size))).toBeUndefined();
    }
  });

  it('flags the first packet over the cap, with its topic, even when the header is split', () => {
    const stream = Buffer.concat([
      publish('ok', Buffer.alloc(10)),
      publish('devices/x/telemetry', Buffer.alloc(5000)),
    ]);
    const meter = new FrameMeter(1000);
    let hit: ReturnType<FrameMeter['feed']>;
    // Split inside the second packet's Remaining Length bytes.
    const cut = publish('ok', Buffer.alloc(10)).length + 2;
    expect(meter.feed(stream.subarray(0, cut))).toBeUndefined();
    hit = meter.feed(stream.subarray(cut));
    expect(hit).toEqual({ type: 3, length: 2 + 19 + 5000, topic: 'devices/x/telemetry' });
    // After a hit the meter stays off: the connection is being closed.
    hit = meter.feed(stream);
    expect(hit).toBeUndefined();
  });
});
