import { describe, expect, it } from 'vitest';
import { MessageBatchWriter, readMessageBatch } from '../../adapters/mqtt/message-batch.js';

function roundTrip(w: MessageBatchWriter): { topic: string; payload: Buffer }[] {
  const { buffer, byteLength } = w.take();
  const out: { topic: string; payload: Buffer }[] = [];
  readMessageBatch(buffer, byteLength, (topic, payload) =>
    out.push({ topic, payload: Buffer.from(payload) }),
  );
  return out;
}

describe('message batches across threads', () => {
  it('gives back every topic and payload byte for byte, in order, growing past its first buffer', () => {
    const w = new MessageBatchWriter(64);
    const sent = [
      { topic: 'devices/d1/telemetry', payload: Buffer.from('{"wl":1.25}') },
      { topic: 'devices/鼓楼区-泵站/event', payload: Buffer.from('门禁 告警') },
      { topic: 'devices/d2/status', payload: Buffer.alloc(0) },
      { topic: 'devices/d3/telemetry', payload: Buffer.from([0xff, 0x00, 0xc3, 0x28]) },
      { topic: 'devices/d4/telemetry', payload: Buffer.alloc(300_000, 7) },
    ];
    for (const m of sent) w.add(m.topic, m.payload);
    expect(w.count).toBe(sent.length);
    const got = roundTrip(w);
    expect(got.map((m) => m.topic)).toEqual(sent.map((m) => m.topic));
    expect(got.map((m, i) => m.payload.equals(sent[i]!.payload))).toEqual(sent.map(() => true));
  });

  it('starts over after take()', () => {
    const w = new MessageBatchWriter();
    w.add('a/b', Buffer.from('1'));
    roundTrip(w);
    expect(w.count).toBe(0);
    w.add('c/d', Buffer.from('2'));
    expect(roundTrip(w).map((m) => m.topic)).toEqual(['c/d']);
  });
});
