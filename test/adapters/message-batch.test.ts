import { describe, expect, it } from 'vitest';
import { MessageBatchWriter, readMessageBatch, TopicTable } from '../../adapters/mqtt/message-batch.js';

function roundTrip(w: MessageBatchWriter, table = new TopicTable()): { topic: string; payload: Buffer }[] {
  const { buffer, byteLength } = w.take();
  const out: { topic: string; payload: Buffer }[] = [];
  readMessageBatch(buffer, byteLength, table, (topic, payload) =>
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
      { topic: 'devices/d1/telemetry', payload: Buffer.from([0xff, 0x00, 0xc3, 0x28]) },
      { topic: 'devices/d4/telemetry', payload: Buffer.alloc(300_000, 7) },
      { topic: 'devices/鼓楼区-泵站/event', payload: Buffer.from('again') },
    ];
    for (const m of sent) w.add(m.topic, m.payload);
    expect(w.count).toBe(sent.length);
    const got = roundTrip(w);
    expect(got.map((m) => m.topic)).toEqual(sent.map((m) => m.topic));
    expect(got.map((m, i) => m.payload.equals(sent[i]!.payload))).toEqual(sent.map(() => true));
  });

  it("carries each message's source and receive time", () => {
    const w = new MessageBatchWriter(64);
    w.add('devices/d1/telemetry', Buffer.from('a'), 7, 1_764_000_000_123.5);
    w.add('devices/d1/telemetry', Buffer.from('b'), 2 ** 32 - 1, 0);
    w.add('devices/d2/telemetry', Buffer.from('c'));
    const { buffer, byteLength } = w.take();
    const got: [string, number, number][] = [];
    readMessageBatch(buffer, byteLength, new TopicTable(), (_t, p, source, at) =>
      got.push([p.toString(), source, at]),
    );
    expect(got).toEqual([
      ['a', 7, 1_764_000_000_123.5],
      ['b', 2 ** 32 - 1, 0],
      ['c', 0, 0],
    ]);
  });

  it('sends a repeated topic as its number, in later batches too, and the reader gives the same string back', () => {
    const w = new MessageBatchWriter();
    const table = new TopicTable();
    const topic = 'devices/a-rather-long-device-identifier-0001/telemetry';
    w.add(topic, Buffer.from('1'));
    const first = w.take();
    w.add(topic, Buffer.from('2'));
    w.add(topic, Buffer.from('3'));
    const second = w.take();
    // The second batch carries the topic twice in 2 x (4 + 12 + 4 + 1) bytes, no topic text.
    expect(second.byteLength).toBe(42);
    const topics: string[] = [];
    for (const b of [first, second]) readMessageBatch(b.buffer, b.byteLength, table, (t) => topics.push(t));
    expect(topics).toEqual([topic, topic, topic]);
    expect(table.topics).toEqual([topic]);
    // Identity, not only equality: one string per topic on the reading side.
    expect(Object.is(topics[1], table.topics[0])).toBe(true);
  });

  it('numbers only short topics, within a total size; the rest travel inline', () => {
    const w = new MessageBatchWriter(64, 6); // room for two 3-character topics
    const long = `devices/${'x'.repeat(200)}/telemetry`;
    for (const t of ['t/1', 't/2', 't/3', 't/1', 't/3', long, long]) w.add(t, Buffer.from(t.slice(0, 3)));
    const table = new TopicTable();
    expect(roundTrip(w, table).map((m) => m.topic)).toEqual(['t/1', 't/2', 't/3', 't/1', 't/3', long, long]);
    expect(table.topics).toEqual(['t/1', 't/2']);
  });

  it('a listener that throws loses no topic numbers: the batch is read to its end and the error reported once', () => {
    const w = new MessageBatchWriter();
    const table = new TopicTable();
    for (const t of ['a/1', 'b/2', 'c/3']) w.add(t, Buffer.from(t));
    const first = w.take();
    const errors: unknown[] = [];
    const seen: string[] = [];
    readMessageBatch(
      first.buffer,
      first.byteLength,
      table,
      (topic) => {
        seen.push(topic);
        if (topic !== 'c/3') throw new Error(`listener failed on ${topic}`);
      },
      (err) => errors.push(err),
    );
    expect(seen).toEqual(['a/1', 'b/2', 'c/3']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['listener failed on a/1']);
    w.add('c/3', Buffer.from('again'));
    w.add('d/4', Buffer.from('new'));
    expect(roundTrip(w, table).map((m) => `${m.topic}:${m.payload}`)).toEqual(['c/3:again', 'd/4:new']);
    // Without onError the first error is thrown, after the batch was read.
    w.add('e/5', Buffer.from('x'));
    const third = w.take();
    expect(() =>
      readMessageBatch(third.buffer, third.byteLength, table, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(table.topics).toEqual(['a/1', 'b/2', 'c/3', 'd/4', 'e/5']);
  });

  it('a reader with another table fails loudly rather than misroute', () => {
    const w = new MessageBatchWriter();
    w.add('t/2', Buffer.from('x'));
    w.take();
    w.add('t/2', Buffer.from('y'));
    const { buffer, byteLength } = w.take();
    expect(() => readMessageBatch(buffer, byteLength, new TopicTable(), () => {})).toThrow(/never defined/);
  });

  it('starts over after take()', () => {
    const w = new MessageBatchWriter();
    const table = new TopicTable();
    w.add('a/b', Buffer.from('1'));
    roundTrip(w, table);
    expect(w.count).toBe(0);
    w.add('c/d', Buffer.from('2'));
    expect(roundTrip(w, table).map((m) => m.topic)).toEqual(['c/d']);
  });
});
