import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { FairReads } from '../../adapters/mqtt/fair-reads.js';
import { waitFor } from './support.js';

/**
 * What adapters/mqtt/fair-reads.ts assumes of aedes and of Node's sockets, checked against the
 * installed aedes on a real broker (port 0). FairReads replaces `read` on each socket instance, so
 * an aedes release that reads another way (a 'data' listener, a pipe, a wrapped stream), or that
 * stops reading again on 'readable' after a read answered null, would leave devices unread or
 * unpaced without any error. Each assumption is one test; they fail on such an upgrade.
 */

/** MQTT 3.1.1 §3.1 CONNECT, clean session, keep-alive 60 s. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** MQTT 3.1.1 §3.3 PUBLISH at QoS 0. */
function publishPacket(topic: string, payload: string): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x30]), remainingLength(body.length), body]);
}

/** MQTT 3.1.1 §2.2.3 Remaining Length. */
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

function publishes(n: number): { bytes: Buffer; payloads: string[] } {
  const payloads = Array.from({ length: n }, (_, i) => `{"seq":${i},"pad":"${'x'.repeat(i % 17)}"}`);
  return { bytes: Buffer.concat(payloads.map((p) => publishPacket('contract/dev-1/up', p))), payloads };
}

interface Harness {
  aedes: Aedes;
  server: Server;
  /** The broker side of the one connection. */
  served: () => Socket;
  /** Payloads aedes parsed from the client, in order. */
  received: string[];
  /** Every argument `read` was called with on the served socket, FairReads' own calls excluded. */
  readArgs: unknown[];
  client: Socket;
}

describe('what FairReads relies on in aedes and node:net (contract)', () => {
  const open: Harness[] = [];

  afterEach(async () => {
    for (const h of open.splice(0)) {
      h.client.destroy();
      await new Promise<void>((r) => h.server.close(() => r()));
      await new Promise<void>((r) => h.aedes.close(() => r()));
    }
  });

  /** A real aedes on 127.0.0.1:0; the accepted socket is put under `fair` (when given) before aedes.handle, as embedded-broker.ts does. */
  async function broker(fair?: FairReads): Promise<Harness> {
    const aedes = await Aedes.createBroker();
    const received: string[] = [];
    const readArgs: unknown[] = [];
    let socket: Socket | undefined;
    aedes.on('publish', (packet, client) => {
      if (client) received.push(packet.payload.toString());
    });
    const server = createServer((s) => {
      socket = s;
      fair?.attach(s);
      // Outside FairReads' patch: what the reader (aedes) asks for, not what FairReads passes on.
      const read = s.read;
      s.read = (n?: number) => {
        readArgs.push(n);
        return read.call(s, n);
      };
      aedes.handle(s);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    await once(client, 'connect');
    const h: Harness = {
      aedes,
      server,
      served: () => {
        if (!socket) throw new Error('no connection accepted yet');
        return socket;
      },
      received,
      readArgs,
      client,
    };
    open.push(h);
    await waitFor('the broker accepted the connection', () => socket !== undefined);
    return h;
  }

  it('aedes reads a connection only through socket.read(null) on the socket it was handed, on its readable event', async () => {
    const h = await broker();
    const s = h.served();
    expect(s.listenerCount('readable')).toBeGreaterThan(0);
    const { bytes, payloads } = publishes(40);
    h.client.write(Buffer.concat([connectPacket('contract-1'), bytes]));
    await waitFor('every PUBLISH parsed', () => h.received.length === payloads.length);
    expect(h.received).toEqual(payloads);
    // No 'data' listener and no pipe: either would put the socket in flowing mode and bypass `read`.
    expect(s.listenerCount('data')).toBe(0);
    expect(s.readableFlowing).not.toBe(true);
    // aedes asks for everything buffered (null); Node's stream internals may refill with read(0).
    expect(h.readArgs).toContain(null);
    expect(h.readArgs.filter((n) => n !== null && n !== undefined && n !== 0)).toEqual([]);
  });

  it('aedes takes a null read as "nothing now", reads again on the next readable, and parses packets split across reads', async () => {
    // 7-byte slices split every packet; a clock that is always over budget defers every read to a round.
    let t = 0;
    const fair = new FairReads({ budgetMs: 1, sliceBytes: 7, now: () => (t += 5) });
    const h = await broker(fair);
    const { bytes, payloads } = publishes(60);
    h.client.write(Buffer.concat([connectPacket('contract-2'), bytes]));
    await waitFor('every PUBLISH parsed from slices', () => h.received.length === payloads.length);
    expect(h.received).toEqual(payloads);
    expect(fair.stats.deferred).toBeGreaterThan(0);
    expect(fair.stats.rounds).toBeGreaterThan(0);
  });

  it('held reads leave the bytes in the socket buffer and aedes parses nothing until release()', async () => {
    const fair = new FairReads({ budgetMs: Number.POSITIVE_INFINITY });
    const h = await broker(fair);
    h.client.write(connectPacket('contract-3'));
    await waitFor('the CONNECT handled', () => h.aedes.connectedClients === 1);
    fair.hold();
    const { bytes, payloads } = publishes(20);
    h.client.write(bytes);
    const s = h.served();
    await waitFor('the PUBLISH bytes buffered in the socket', () => s.readableLength === bytes.length);
    expect(h.received).toEqual([]);
    fair.release();
    await waitFor('every PUBLISH parsed after release', () => h.received.length === payloads.length);
    expect(h.received).toEqual(payloads);
  });

  it("aedes closes a client on the socket's end, which comes only after its last byte was read", async () => {
    const fair = new FairReads({ budgetMs: Number.POSITIVE_INFINITY, sliceBytes: 16 });
    const h = await broker(fair);
    const { bytes, payloads } = publishes(50);
    let atDisconnect = -1;
    h.aedes.on('clientDisconnect', () => {
      atDisconnect = h.received.length;
    });
    h.client.end(Buffer.concat([connectPacket('contract-4'), bytes]));
    await waitFor('aedes saw the client go', () => atDisconnect >= 0);
    expect(atDisconnect).toBe(payloads.length);
    expect(h.received).toEqual(payloads);
  });
});
