import { connect, type Socket } from 'node:net';
import { DISCONNECT, encodeConnect, encodePublish, PacketReader, PacketType, PINGREQ } from './mqtt-lean.js';
import { createRng } from './prng.js';

/**
 * A fleet with one MQTT connection per device, as a city's gauges connect: each logs in with its own
 * id and secret (client id = user name = device id), publishes one reading right after every
 * CONNACK and then one per interval, pings when it has sent nothing for half its keep-alive, and
 * after any loss of its connection (a refused login included) tries again after a jittered delay,
 * like device firmware does. Used by the benchmark's fleet scenario to time how long the gateway
 * takes to admit every device after a restart.
 *
 * A device is *admitted* once a connection whose CONNACK arrived after the last `mark()` has had its
 * first publish acknowledged (QoS 1) or written (QoS 0). If that connection is lost before the
 * whole fleet is admitted, the device counts as not admitted again: "all admitted" means every
 * device connected and publishing at the same moment.
 */
export interface FleetDevice {
  id: string;
  secret: string;
  topic: string;
  /** The device's vendor payload stamped with `atMs`. */
  payload(atMs: number): Buffer;
}

export interface FleetConnectionsOptions {
  host: string;
  port: number;
  devices: readonly FleetDevice[];
  /** Source addresses the connections are spread over (device i binds address i mod length). */
  localAddresses?: readonly string[];
  /** Default 60 s. */
  keepaliveS?: number;
  /** One reading per device per interval while publishing is on. Default 10,000 ms. */
  intervalMs?: number;
  /** Default 1: the broker's PUBACK proves the publish was taken. */
  qos?: 0 | 1;
  /** Delay before a new attempt after a loss, ms, ± `jitter` of itself. Defaults 1000 and 0.5. */
  reconnectMs?: number;
  jitter?: number;
  /** A connection without CONNACK for this long is dropped and retried (mqtt.js's default 30 s). */
  connectTimeoutMs?: number;
  /** Scheduler granularity; the interval is cut into slots of this length. Default 50 ms. */
  tickMs?: number;
  seed?: number;
}

export interface FleetStats {
  devices: number;
  /** Connections with an accepted CONNACK now. */
  connected: number;
  /** Devices admitted since the last mark (see the class comment). */
  admitted: number;
  /** Epoch ms of the last mark and of the moment every device was admitted after it. */
  markAt: number;
  allAdmittedAt?: number;
  /** Per-device ms from the mark to admission, over the devices admitted so far. */
  admitMs?: { p50: number; p90: number; p99: number; max: number };
  attempts: number;
  connacks: number;
  /** Refused CONNACKs by return code (§3.2.2.3: 4 bad user name or password, 5 not authorized, ...). */
  refused: Record<string, number>;
  /** Socket errors by code (ECONNREFUSED while the gateway is down, ECONNRESET, ...). */
  socketErrors: Record<string, number>;
  connectTimeouts: number;
  closes: number;
  published: number;
  acked: number;
  pings: number;
}

interface Conn {
  i: number;
  dev: FleetDevice;
  localAddress?: string;
  sock?: Socket;
  state: 'idle' | 'connecting' | 'connected';
  startedAt: number;
  /** The mark generation current when this connection's CONNACK arrived. */
  gen: number;
  /** First publish on this connection acknowledged. */
  ready: boolean;
  /** The mark generation in which the device was last admitted. */
  admittedGen: number;
  lastTx: number;
  nextPid: number;
}

export class FleetConnections {
  readonly #o: Required<Omit<FleetConnectionsOptions, 'localAddresses' | 'seed'>>;
  readonly #conns: Conn[];
  readonly #slots: Conn[][];
  readonly #rng;
  readonly #admitAt: Float64Array;
  #publishing = false;
  #stopping = false;
  #timer: NodeJS.Timeout | undefined;
  #t0 = 0;
  #lastSlot = -1;
  #gen = 0;
  #markAt = Date.now();
  #allAdmittedAt: number | undefined;
  #admitted = 0;
  #connected = 0;
  readonly #s = {
    attempts: 0,
    connacks: 0,
    refused: {} as Record<string, number>,
    socketErrors: {} as Record<string, number>,
    connectTimeouts: 0,
    closes: 0,
    published: 0,
    acked: 0,
    pings: 0,
  };

  constructor(opts: FleetConnectionsOptions) {
    this.#o = {
      host: opts.host,
      port: opts.port,
      devices: opts.devices,
      keepaliveS: opts.keepaliveS ?? 60,
      intervalMs: opts.intervalMs ?? 10_000,
      qos: opts.qos ?? 1,
      reconnectMs: opts.reconnectMs ?? 1000,
      jitter: opts.jitter ?? 0.5,
      connectTimeoutMs: opts.connectTimeoutMs ?? 30_000,
      tickMs: opts.tickMs ?? 50,
    };
    this.#rng = createRng(opts.seed ?? 1);
    const addrs = opts.localAddresses ?? [];
    this.#conns = opts.devices.map((dev, i) => ({
      i,
      dev,
      ...(addrs.length > 0 ? { localAddress: addrs[i % addrs.length] } : {}),
      state: 'idle',
      startedAt: 0,
      gen: -1,
      ready: false,
      admittedGen: -1,
      lastTx: 0,
      nextPid: 1,
    }));
    this.#admitAt = new Float64Array(this.#conns.length).fill(Number.NaN);
    // Devices spread evenly over the interval, so the fleet's readings arrive at a steady rate.
    const nSlots = Math.max(1, Math.round(this.#o.intervalMs / this.#o.tickMs));
    this.#slots = Array.from({ length: nSlots }, () => []);
    for (const c of this.#conns) this.#slots[c.i % nSlots]?.push(c);
  }

  /** Every device connects at once (in batches per event-loop turn, so the loop stays responsive). */
  start(): void {
    this.mark();
    this.#t0 = Date.now();
    this.#timer = setInterval(() => this.#tick(), this.#o.tickMs);
    const batch = 250;
    const step = (from: number) => {
      if (this.#stopping) return;
      for (let i = from; i < Math.min(from + batch, this.#conns.length); i++)
        this.#open(this.#conns[i] as Conn);
      if (from + batch < this.#conns.length) setImmediate(() => step(from + batch));
    };
    step(0);
  }

  /** Readings every interval on or off; the first reading after each CONNACK is always sent. */
  setPublishing(on: boolean): void {
    this.#publishing = on;
  }

  /** Starts a new admission count: from now on only connections admitted after this moment count. */
  mark(): void {
    this.#gen++;
    this.#markAt = Date.now();
    this.#allAdmittedAt = undefined;
    this.#admitted = 0;
    this.#admitAt.fill(Number.NaN);
  }

  stats(): FleetStats {
    const times: number[] = [];
    for (const t of this.#admitAt) if (!Number.isNaN(t)) times.push(t - this.#markAt);
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] as number;
    return {
      devices: this.#conns.length,
      connected: this.#connected,
      admitted: this.#admitted,
      markAt: this.#markAt,
      ...(this.#allAdmittedAt !== undefined ? { allAdmittedAt: this.#allAdmittedAt } : {}),
      ...(times.length > 0
        ? { admitMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: times[times.length - 1] as number } }
        : {}),
      ...this.#s,
      refused: { ...this.#s.refused },
      socketErrors: { ...this.#s.socketErrors },
    };
  }

  /** DISCONNECT on every open connection, then close them all; bounded by `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    const open = this.#conns.filter((c) => c.sock !== undefined);
    await Promise.race([
      Promise.all(
        open.map(
          (c) =>
            new Promise<void>((resolve) => {
              const sock = c.sock as Socket;
              sock.once('close', () => resolve());
              if (c.state === 'connected') sock.end(DISCONNECT);
              else sock.destroy();
            }),
        ),
      ),
      new Promise((r) => setTimeout(r, graceMs).unref()),
    ]);
    for (const c of open) c.sock?.destroy();
  }

  #open(c: Conn): void {
    if (this.#stopping) return;
    this.#s.attempts++;
    c.state = 'connecting';
    c.startedAt = Date.now();
    c.ready = false;
    c.nextPid = 1;
    const sock = connect({
      host: this.#o.host,
      port: this.#o.port,
      ...(c.localAddress ? { localAddress: c.localAddress } : {}),
    });
    c.sock = sock;
    sock.setNoDelay(true);
    const reader = new PacketReader();
    sock.once('connect', () => {
      c.lastTx = Date.now();
      sock.write(
        encodeConnect({
          clientId: c.dev.id,
          username: c.dev.id,
          password: c.dev.secret,
          keepaliveS: this.#o.keepaliveS,
          clean: true,
        }),
      );
    });
    sock.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (p) => this.#onPacket(c, p.type, p.body));
      } catch {
        sock.destroy(); // a malformed packet: drop the connection, as firmware would
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'other';
      this.#s.socketErrors[code] = (this.#s.socketErrors[code] ?? 0) + 1;
    });
    sock.once('close', () => this.#onClose(c, sock));
  }

  #onPacket(c: Conn, type: number, body: Buffer): void {
    if (type === PacketType.CONNACK) {
      const rc = body[1] ?? 255;
      if (rc !== 0) {
        this.#s.refused[rc] = (this.#s.refused[rc] ?? 0) + 1;
        c.sock?.destroy();
        return;
      }
      this.#s.connacks++;
      c.state = 'connected';
      c.gen = this.#gen;
      this.#connected++;
      this.#publish(c);
    } else if (type === PacketType.PUBACK) {
      this.#s.acked++;
      if (!c.ready) this.#onReady(c);
    }
  }

  #onReady(c: Conn): void {
    c.ready = true;
    if (c.gen !== this.#gen || c.admittedGen === this.#gen) return;
    c.admittedGen = this.#gen;
    this.#admitted++;
    const now = Date.now();
    this.#admitAt[c.i] = now;
    if (this.#admitted === this.#conns.length) this.#allAdmittedAt = now;
  }

  #onClose(c: Conn, sock: Socket): void {
    if (c.sock !== sock) return;
    this.#s.closes++;
    if (c.state === 'connected') this.#connected--;
    if (c.admittedGen === this.#gen && this.#allAdmittedAt === undefined) {
      c.admittedGen = -1;
      this.#admitted--;
      this.#admitAt[c.i] = Number.NaN;
    }
    c.state = 'idle';
    c.sock = undefined;
    c.ready = false;
    if (this.#stopping) return;
    const { reconnectMs, jitter } = this.#o;
    const delay = reconnectMs * (1 + jitter * (2 * this.#rng.next() - 1));
    setTimeout(() => this.#open(c), delay);
  }

  #publish(c: Conn): void {
    const sock = c.sock;
    if (!sock) return;
    const now = Date.now();
    const qos = this.#o.qos;
    const pid = c.nextPid;
    c.nextPid = pid === 65_535 ? 1 : pid + 1;
    this.#s.published++;
    c.lastTx = now;
    const first = !c.ready;
    sock.write(encodePublish(c.dev.topic, c.dev.payload(now), qos, pid), () => {
      if (qos === 0 && first && c.sock === sock && !c.ready) this.#onReady(c);
    });
  }

  /** One slot of the interval per tick (catching up missed slots): readings, pings, connect timeouts. */
  #tick(): void {
    const now = Date.now();
    const n = this.#slots.length;
    const slot = Math.floor((now - this.#t0) / this.#o.tickMs);
    const from = Math.max(this.#lastSlot + 1, slot - n + 1);
    for (let s = from; s <= slot; s++) {
      for (const c of this.#slots[s % n] as Conn[]) {
        if (c.state === 'connected') {
          if (this.#publishing) this.#publish(c);
          else if (now - c.lastTx >= (this.#o.keepaliveS * 1000) / 2) {
            this.#s.pings++;
            c.lastTx = now;
            c.sock?.write(PINGREQ);
          }
        } else if (c.state === 'connecting' && now - c.startedAt > this.#o.connectTimeoutMs) {
          this.#s.connectTimeouts++;
          c.sock?.destroy();
        }
      }
    }
    this.#lastSlot = slot;
  }
}
