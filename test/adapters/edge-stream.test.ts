import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EdgeStream } from '../../adapters/mqtt/edge-stream.js';
import { type MessagesBatch, readMessageBatch, TopicTable } from '../../adapters/mqtt/message-batch.js';

/** The channel end an edge thread hands its batches to, with a credit count the test sets. */
function channel() {
  const table = new TopicTable();
  const sent: string[][] = [];
  const end = {
    credits: 8,
    get canSend() {
      return end.credits > 0;
    },
    batch(_name: string, v: unknown) {
      end.credits--;
      const b = v as MessagesBatch;
      const topics: string[] = [];
      readMessageBatch(b.buffer, b.byteLength, table, (topic) => topics.push(topic));
      sent.push(topics);
    },
    onCredit: (_n: number) => {},
  };
  return { end, sent };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('EdgeStream hand-over', () => {
  it('with credit, a batch goes once it holds 128 messages, before the turn ends; the rest at its end', async () => {
    const { end, sent } = channel();
    const stream = new EdgeStream(end, undefined, pino({ level: 'silent' }), 1 << 20, () => {});
    const socket = new PassThrough();
    for (let i = 0; i < 300; i++) stream.take(`devices/d${i}/telemetry`, Buffer.from('{}'), 0, socket);
    expect(sent.map((b) => b.length)).toEqual([128, 128]);
    await turn();
    expect(sent.map((b) => b.length)).toEqual([128, 128, 44]);
    // In order, each message once.
    expect(sent.flat()).toEqual(Array.from({ length: 300 }, (_, i) => `devices/d${i}/telemetry`));
  });

  it('without credit the batch grows, and goes whole when credit comes back', async () => {
    const { end, sent } = channel();
    end.credits = 0;
    const stream = new EdgeStream(end, undefined, pino({ level: 'silent' }), 1 << 20, () => {});
    const socket = new PassThrough();
    for (let i = 0; i < 300; i++) stream.take(`devices/d${i}/telemetry`, Buffer.from('{}'), 0, socket);
    await turn();
    expect(sent).toHaveLength(0);
    end.credits = 1;
    end.onCredit(1);
    expect(sent.map((b) => b.length)).toEqual([300]);
  });
});
