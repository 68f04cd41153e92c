import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { type Hj212Lookup, Hj212OverMqtt } from '../../adapters/hj212/ingest.js';
import type { Rejection } from '../../processors/errors.js';
import { Hj212Deframer } from '../../processors/hj212/deframer.js';
import { type Hj212Packet, parseDataSegment } from '../../processors/hj212/parse.js';
import type { InboundMessage } from '../../processors/types.js';

/** Polls until `check` returns true; not a timing assertion, just a bounded wait for async effects. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A station-side TCP client that collects the platform's responses. */
export class TestClient {
  readonly socket: Socket;
  readonly responses: Hj212Packet[] = [];
  closed = false;
  readonly #deframer = new Hj212Deframer();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      for (const item of this.#deframer.push(c)) {
        if (item.kind !== 'frame') continue;
        const r = parseDataSegment(item.data.toString('latin1'));
        if (r.ok) this.responses.push(r.packet);
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<TestClient> {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new TestClient(s);
  }

  async write(data: Buffer | string): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Hj212OverMqtt on `hj212/{mn}`, with what it passes on, refuses and publishes collected. */
export function mqttBridge(lookup: Hj212Lookup) {
  const messages: InboundMessage[] = [];
  const rejects: Rejection[] = [];
  const published: { topic: string; frame: Buffer }[] = [];
  const bridge = new Hj212OverMqtt(
    'hj212/{mn}',
    {
      lookup,
      onMessage: (m) => messages.push(m),
      settled: () => Promise.resolve(),
      onReject: (r) => rejects.push(r),
      onStatus: () => {},
    },
    async (topic, frame) => {
      published.push({ topic, frame });
    },
    pino({ level: 'silent' }),
  );
  /** A DTU's payload on the topic of `mn`; resolves once its 9014s are published. */
  const send = async (mn: string, payload: Buffer, receivedAt = Date.now()) => {
    const topic = `hj212/${mn}`;
    bridge.handle({ transport: 'mqtt', kind: 'telemetry', deviceId: mn, topic, payload, receivedAt });
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { messages, rejects, published, send };
}
