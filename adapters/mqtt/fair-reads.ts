import type { Socket } from 'node:net';

/**
 * Fair, time-budgeted reads across the embedded broker's connections.
 *
 * aedes reads a connection with `conn.read(null)` and parses everything that comes back before it
 * reads again, and it reads again as soon as those packets are handled. So each 'readable' event
 * runs the whole pipeline over every byte the socket holds (up to ~64 KiB per read from the
 * kernel), and a turn of the event loop is the sum over every busy connection: under load a device
 * on a quiet connection would wait for all of it.
 *
 * Here a connection's reads hand aedes at most `sliceBytes` at a time, and only while the current
 * turn has budget left (`budgetMs` of work since the turn began). A connection that finds the
 * budget spent is queued and served from setImmediate, after which the loop polls the sockets
 * again: connections with new bytes first, then those still working through a backlog, round
 * robin. What waits is the socket's own buffer of raw bytes: nothing is parsed early, the kernel's
 * TCP window pushes back on a sender that outruns the gateway, and 'end' still comes only after
 * the last byte was read.
 *
 * It patches `read` on each socket instance (aedes reads no other way; Node's own `read(0)` calls
 * pass through untouched), so aedes keeps the real socket for writes.
 */

export interface FairReadsOptions {
  /** Work a turn may do before further reads wait for the next one. */
  budgetMs: number;
  /** Largest read handed to aedes at once. Default 8 KiB (about 60 vendor JSON messages). */
  sliceBytes?: number;
  /** Monotonic ms clock (tests drive it). */
  now?: () => number;
}

export interface FairReadsStats {
  /** Reads refused because the turn's budget was spent (the connection was queued). */
  deferred: number;
  /** Rounds run from the queue. */
  rounds: number;
}

const DEFAULT_SLICE = 8192;

export class FairReads {
  readonly stats: FairReadsStats = { deferred: 0, rounds: 0 };
  readonly #budget: number;
  readonly #slice: number;
  readonly #now: () => number;
  /**
   * Connections not read in this turn or the one before (a quiet device, a probe) are served before
   * those that were (a busy backlog): fq_codel's new-flows-first, so a sparse connection waits for
   * at most one round however many busy ones are queued.
   */
  readonly #fresh: Conn[] = [];
  readonly #busy: Conn[] = [];
  #turnStart = 0;
  /** Counts turns: a new one when the loop was idle, and each round. */
  #turn = 0;
  /** A round is scheduled: reads until then belong to the turn that began at #turnStart. */
  #scheduled = false;
  /** Being served past the budget: a round's one backlog slice. */
  #forced: Conn | undefined;
  readonly #round = () => this.#serve();
  /** hold(): every read waits in the queues until release(). */
  #held = false;

  /** budgetMs may be Infinity: reads are then sliced and can be held, never deferred for time. */
  constructor(opts: FairReadsOptions) {
    if (!(opts.budgetMs > 0)) throw new RangeError(`budgetMs must be > 0, got ${opts.budgetMs}`);
    this.#budget = opts.budgetMs;
    this.#slice = opts.sliceBytes ?? DEFAULT_SLICE;
    if (!(this.#slice >= 1)) throw new RangeError(`sliceBytes must be >= 1, got ${this.#slice}`);
    this.#now = opts.now ?? performance.now.bind(performance);
  }

  /** Connections waiting for a round. */
  get waiting(): number {
    return this.#fresh.length + this.#busy.length;
  }

  get held(): boolean {
    return this.#held;
  }

  /**
   * Stops all reads (back-pressure: what the parsed messages go to is full). Connections that want
   * to read queue up, and their bytes wait in the socket buffers and the kernel's TCP window.
   */
  hold(): void {
    this.#held = true;
  }

  /** Lets the queued connections read again, from the next round. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (!this.#scheduled && this.waiting > 0) this.#schedule();
  }

  /** Puts the socket's reads under the budget. Call before aedes.handle(socket). */
  attach(socket: Socket): void {
    const read = socket.read;
    const conn: Conn = { socket, lastTurn: Number.NEGATIVE_INFINITY, queued: false };
    /** A slice is being parsed: aedes reads again from inside the parser when a packet is handled. */
    let parsing = false;
    const next = () => {
      parsing = false;
      if (!socket.destroyed && socket.readableLength > 0) socket.emit('readable');
    };
    socket.read = (n?: number) => {
      // Node's stream internals call read(0) to refill the buffer; only aedes's whole-buffer reads are paced.
      if (n !== undefined && n !== null) return read.call(socket, n);
      // mqtt-packet's parser is not re-entrant; without slices aedes's nested read always found the
      // buffer empty. The next slice comes on the next tick, as a socket's own 'readable' would.
      if (parsing) return null;
      const len = socket.readableLength;
      // Nothing buffered (aedes reads again after each batch): no turn, no queue; an ended stream ends.
      if (len === 0) return read.call(socket);
      if (!this.#admit(conn)) return null;
      if (len <= this.#slice) return read.call(socket);
      parsing = true;
      process.nextTick(next);
      // Leaving the rest in the socket's buffer keeps backpressure and end-of-stream order intact.
      return read.call(socket, this.#slice);
    };
  }

  #admit(conn: Conn): boolean {
    if (this.#held) {
      this.#defer(conn);
      return false;
    }
    const now = this.#now();
    if (!this.#scheduled) {
      // First read since the loop was idle: a new turn.
      this.#turn++;
      this.#turnStart = now;
      this.#schedule();
    } else if (conn !== this.#forced && (conn.queued || now - this.#turnStart >= this.#budget)) {
      this.#defer(conn);
      return false;
    }
    conn.lastTurn = this.#turn;
    return true;
  }

  #defer(conn: Conn): void {
    this.stats.deferred++;
    if (!conn.queued) {
      conn.queued = true;
      (conn.lastTurn >= this.#turn - 1 ? this.#busy : this.#fresh).push(conn);
    }
  }

  #schedule(): void {
    this.#scheduled = true;
    setImmediate(this.#round);
  }

  #serve(): void {
    this.#scheduled = false;
    if (this.#held || this.waiting === 0) return;
    this.stats.rounds++;
    this.#turn++;
    // The round's budget also covers the follow-up slices it starts (next ticks, right after it);
    // reads when the loop next polls the sockets find it spent and queue for the next round.
    this.#turnStart = this.#now();
    this.#schedule();
    this.#pass(this.#fresh, 0);
    // At least one slice of one busy connection per round, however many fresh ones came: no one starves.
    this.#pass(this.#busy, 1);
  }

  /** Starts each connection waiting in `queue` when the pass began (`atLeast` of them regardless of the budget); the rest keep their place. */
  #pass(queue: Conn[], atLeast: number): void {
    let n = queue.length;
    while (n-- > 0) {
      const forced = atLeast-- > 0;
      if (!forced && this.#now() - this.#turnStart >= this.#budget) return;
      const conn = queue.shift() as Conn;
      conn.queued = false;
      // A connection that closed while it waited leaves the queue here.
      if (conn.socket.destroyed) continue;
      this.#forced = forced ? conn : undefined;
      try {
        conn.socket.emit('readable');
      } finally {
        this.#forced = undefined;
      }
    }
  }
}

interface Conn {
  readonly socket: Socket;
  /** The turn it was last read in. */
  lastTurn: number;
  /** Waiting in #fresh or #busy. */
  queued: boolean;
}
