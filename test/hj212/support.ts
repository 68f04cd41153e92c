import { connect, type Socket } from 'node:net';
import { Hj212Deframer } from '../../processors/hj212/deframer.js';
import { type Hj212Packet, parseDataSegment } from '../../processors/hj212/parse.js';

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
