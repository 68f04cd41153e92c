import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Rejection, RejectReason } from '../../processors/errors.js';
import { Hj212Deframer } from '../../processors/hj212/deframer.js';
import { QnWindow } from '../../processors/hj212/qn-window.js';
import { type Clock, type InboundMessage, systemClock } from '../../processors/types.js';
import { ClockSkewWarnings } from './clock-skew.js';
import { type Hj212Lookup, type Hj212Stream, handleItem } from './ingest.js';

/**
 * The HJ 212-2017 listener: stations (现场机) connect over TCP and keep the connection open,
 * uploading frames (HJ 212-2017 通讯包结构组成) that the platform answers with 9014 when asked.
 *
 * Per connection: one deframer (bounded to one frame of buffered input), an idle timeout, and a cap
 * on unread output. A bad frame is a counted reject; the connection stays up, because one corrupt
 * frame on a noisy GPRS link says nothing about the next. The exception is the password: after
 * `maxAuthFailures` frames in a row with a wrong PW the connection is closed, since a station that
 * keeps sending a wrong PW is misconfigured or guessing, and closing costs a guesser a reconnect.
 *
 * Requests already taken are remembered across connections: a station that missed its 9014 often
 * reconnects before resending.
 */

/** Unread response bytes after which a connection is dropped (a client that never reads). */
const MAX_PENDING_WRITE_BYTES = 64 * 1024;

export interface Hj212ServerOptions {
  host: string;
  /** 0 picks a free port; read `port` after start(). */
  port: number;
  lookup: Hj212Lookup;
  onMessage(msg: InboundMessage): void;
  /**
   * Resolves once what onMessage was given so far is durable (in the database or the spool): a
   * 9014 confirms receipt (HJ 212-2017 数据应答), so it waits for it. Absent: answered at once.
   */
  settled?(): Promise<void>;
  onReject(r: Rejection): void;
  /** A device's first accepted frame on a connection (online) and the close of its last connection (offline). */
  onStatus?(deviceId: string, online: boolean): void;
  logger: Logger;
  /** Closes a connection silent this long. Default 10 min (stations send every 30–60 s plus heartbeats). */
  idleTimeoutMs?: number;
  /** Further connections are refused. Default 2000. */
  maxConnections?: number;
  /** Consecutive wrong-PW frames before the connection is closed. Default 10. */
  maxAuthFailures?: number;
  clock?: Clock;
}

export interface Hj212ServerStats {
  connections: number;
  accepted: number;
  dropped: number;
  /** Frames that passed length and CRC checks. */
  frames: number;
  /** Frames handed to onMessage. */
  messages: number;
  responses: number;
  /** Resent requests (same MN, QN, CN) answered again but not passed on. */
  duplicates: number;
  rejects: Partial<Record<RejectReason, number>>;
}

interface Conn {
  socket: Socket;
  deframer: Hj212Deframer;
  stream: Hj212Stream;
  /** Devices this connection has proved to be. */
  deviceIds: Set<string>;
  authFailures: number;
  log: Logger;
}

export class Hj212Server {
  readonly #opts: Hj212ServerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #requests = new QnWindow();
  readonly #skew: ClockSkewWarnings;
  readonly #conns = new Set<Conn>();
  /** deviceId -> its open connections, so `offline` is reported only when the last one closes. */
  readonly #online = new Map<string, Set<Conn>>();
  #server: Server | undefined;
  #port = 0;
  readonly #stats: Hj212ServerStats = {
    connections: 0,
    accepted: 0,
    dropped: 0,
    frames: 0,
    messages: 0,
    responses: 0,
    duplicates: 0,
    rejects: {},
  };

  constructor(opts: Hj212ServerOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'hj212' });
    this.#clock = opts.clock ?? systemClock;
    this.#skew = new ClockSkewWarnings(this.#log);
  }

  /** The bound port (after start()). */
  get port(): number {
    return this.#port;
  }

  stats(): Hj212ServerStats {
    return { ...this.#stats, connections: this.#conns.size, rejects: { ...this.#stats.rejects } };
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (s) =>
      this.#accept(s),
    );
    server.maxConnections = this.#opts.maxConnections ?? 2000;
    server.on('drop', () => {
      this.#stats.dropped++;
      this.#log.warn(
        { maxConnections: server.maxConnections },
        'hj212 connection refused: at maxConnections',
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.port, this.#opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#log.error({ err }, 'hj212 listener error'));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    this.#log.info({ host: this.#opts.host, port: this.#port }, 'hj212 listening');
  }

  /** Stops listening and closes every connection. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.#conns) c.socket.destroy();
    await closed;
  }

  #accept(socket: Socket): void {
    this.#stats.accepted++;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const conn: Conn = {
      socket,
      deframer: new Hj212Deframer(),
      stream: { from: { remote }, requests: this.#requests },
      deviceIds: new Set(),
      authFailures: 0,
      log: this.#log.child({ remote }),
    };
    this.#conns.add(conn);
    socket.setTimeout(this.#opts.idleTimeoutMs ?? 600_000);
    socket.on('timeout', () => {
      conn.log.info('hj212 connection idle, closing');
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on('error', (err) => conn.log.debug({ err }, 'hj212 socket error'));
    socket.on('close', () => this.#onClose(conn));
  }

  #onData(conn: Conn, chunk: Buffer): void {
    const at = this.#clock.now();
    let items: ReturnType<Hj212Deframer['push']>;
    try {
      items = conn.deframer.push(chunk);
    } catch (err) {
      // A bug, not input: drop the connection rather than the process.
      conn.log.error({ err }, 'hj212 deframer failed; closing connection');
      conn.socket.destroy();
      return;
    }
    for (const item of items) {
      if (conn.socket.destroyed) return;
      if (item.kind === 'frame') this.#stats.frames++;
      const r = handleItem(item, at, this.#opts.lookup, conn.stream);
      if (r.kind === 'reject') {
        this.#reject(r.rejection);
        if (r.rejection.reason === 'bad_password') this.#authFailed(conn);
        continue;
      }
      conn.authFailures = 0;
      const deviceId = r.kind === 'message' ? r.message.deviceId : r.deviceId;
      this.#seen(conn, deviceId);
      if (r.kind === 'other') continue;
      if (r.kind === 'message') {
        this.#stats.messages++;
        if (r.skewMs !== undefined) this.#skew.observe(r.mn, deviceId, r.skewMs, at);
        try {
          this.#opts.onMessage(r.message);
        } catch (err) {
          conn.log.error({ err, deviceId }, 'hj212 onMessage threw');
        }
      } else if (r.kind === 'duplicate') {
        this.#stats.duplicates++;
        conn.log.debug({ device: deviceId, qn: r.qn }, 'hj212 request resent; answered, not stored again');
      }
      if (r.response) this.#answer(conn, r.response);
    }
  }

  /** A 9014 once everything taken before it is durable; answers keep their order (settled() resolves in order). */
  #answer(conn: Conn, frame: Buffer): void {
    (this.#opts.settled?.() ?? Promise.resolve()).then(
      () => {
        if (!conn.socket.destroyed) this.#write(conn, frame);
      },
      // Not durable: no 9014, so the station resends (HJ 212-2017 超时重发).
      (err: unknown) => conn.log.warn({ err }, 'hj212 reading not confirmed durable; no 9014 sent'),
    );
  }

  #write(conn: Conn, frame: Buffer): void {
    if (conn.socket.writableLength > MAX_PENDING_WRITE_BYTES) {
      conn.log.warn('hj212 client does not read its responses; closing');
      conn.socket.destroy();
      return;
    }
    this.#stats.responses++;
    conn.socket.write(frame);
  }

  #authFailed(conn: Conn): void {
    conn.authFailures++;
    if (conn.authFailures >= (this.#opts.maxAuthFailures ?? 10)) {
      conn.log.warn({ failures: conn.authFailures }, 'hj212 wrong PW repeatedly; closing connection');
      conn.socket.destroy();
    }
  }

  #reject(r: Rejection): void {
    this.#stats.rejects[r.reason] = (this.#stats.rejects[r.reason] ?? 0) + 1;
    try {
      this.#opts.onReject(r);
    } catch (err) {
      this.#log.error({ err }, 'hj212 onReject threw');
    }
  }

  #seen(conn: Conn, deviceId: string): void {
    if (conn.deviceIds.has(deviceId)) return;
    conn.deviceIds.add(deviceId);
    const set = this.#online.get(deviceId) ?? new Set<Conn>();
    this.#online.set(deviceId, set);
    set.add(conn);
    if (set.size === 1) this.#status(deviceId, true);
  }

  #onClose(conn: Conn): void {
    this.#conns.delete(conn);
    for (const item of conn.deframer.end()) {
      const r = handleItem(item, this.#clock.now(), this.#opts.lookup, conn.stream);
      if (r.kind === 'reject') this.#reject(r.rejection);
    }
    for (const id of conn.deviceIds) {
      const set = this.#online.get(id)!;
      set.delete(conn);
      if (set.size === 0) {
        this.#online.delete(id);
        this.#status(id, false);
      }
    }
  }

  #status(deviceId: string, online: boolean): void {
    try {
      this.#opts.onStatus?.(deviceId, online);
    } catch (err) {
      this.#log.error({ err, deviceId }, 'hj212 onStatus threw');
    }
  }
}
