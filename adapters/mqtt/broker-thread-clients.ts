/**
 * The broker thread's connections as the gateway knows them, and the hook verdicts the thread asks
 * for (CONNECT, SUBSCRIBE, a connection's first PUBLISH on a topic), answered with the same aedes
 * hooks EmbeddedBroker is given.
 */
import type { Client, PublishPacket } from 'aedes';
import type { BrokerAsk, BrokerVerdict } from './broker-protocol.js';
import type { EmbeddedBrokerOptions } from './embedded-broker-options.js';

/** What the gateway knows of a connection of the broker thread. */
export interface ThreadConn {
  clientId: string;
  /** Stands for the aedes client in the gateway's hooks: its id and remote address, as DeviceAuth reads them. */
  proxy: Client;
  online: boolean;
  closing: boolean;
}

export function proxyOf(clientId: string, remote: string): Client {
  return { id: clientId, conn: { remoteAddress: remote } } as unknown as Client;
}

/** Connections by the thread's number for them; a connection is remembered when first heard of. */
export class ThreadConns {
  private readonly byNo = new Map<number, ThreadConn>();

  get(n: number): ThreadConn | undefined {
    return this.byNo.get(n);
  }

  /** The connection `n`, remembered now if it is new. */
  ensure(n: number, clientId: string, remote: string): ThreadConn {
    let c = this.byNo.get(n);
    if (!c) {
      c = { clientId, proxy: proxyOf(clientId, remote), online: false, closing: false };
      this.byNo.set(n, c);
    }
    return c;
  }

  delete(n: number): void {
    this.byNo.delete(n);
  }

  values(): IterableIterator<ThreadConn> {
    return this.byNo.values();
  }

  clear(): void {
    this.byNo.clear();
  }
}

/**
 * The hooks' verdict on what the thread asks; a hook that throws rejects. `packet` is a reused
 * publish packet (the hooks read its topic).
 */
export function verdictFor(
  o: EmbeddedBrokerOptions,
  c: ThreadConn,
  q: BrokerAsk,
  packet: PublishPacket,
): Promise<BrokerVerdict> {
  try {
    switch (q.what) {
      case 'authenticate':
        return o.authenticate
          ? o.authenticate(c.proxy, q.username, q.password && Buffer.from(q.password))
          : Promise.resolve(true);
      case 'publish':
        packet.topic = q.topic;
        packet.payload = Buffer.alloc(0);
        return Promise.resolve(
          o.authorizePublish
            ? o.authorizePublish(c.proxy, { ...packet, qos: q.qos, retain: q.retain })
            : true,
        );
      case 'subscribe':
        return o.authorizeSubscribe
          ? o.authorizeSubscribe(c.proxy, { topic: q.topic, qos: q.qos })
          : Promise.resolve(true);
    }
  } catch (err) {
    return Promise.reject(err);
  }
}
