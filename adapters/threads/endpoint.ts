/**
 * One end of the thread channel: the same class on the gateway's thread (over a Worker) and in the
 * worker (over parentPort). What crosses is one of a few envelopes:
 *
 * - `call` / `reply`: typed request and answer, by id; a call still waiting when the other side
 *   goes away is failed (`failAll`), never left hanging.
 * - `item`: an ordered stream of batches (transferred buffers) and events. The receiver takes them
 *   in order, at most one batch per event-loop turn once a backlog forms, so its other I/O (the HTTP
 *   API, timers) never waits behind a stream of batches; an event keeps its place after the batches
 *   sent before it (a client going offline after its last messages).
 * - `credit`: batches were processed. A sender holds at most CREDIT_WINDOW batches unprocessed,
 *   and says so when asked (`canSend`), so it can push back on its own source (stop reading
 *   sockets). Credit goes back in groups (each message wakes the sender's thread): once per
 *   CREDIT_GROUP batches, and at once for a batch marked `last`, the one that used the sender's
 *   last credit, so a sender never waits for credit the receiver holds back.
 */

export const CREDIT_WINDOW = 8;
const CREDIT_GROUP = 4;

export interface WireError {
  message: string;
  code?: string | number;
}

export function toWire(err: unknown): WireError {
  const code = (err as { code?: unknown } | undefined)?.code;
  return {
    message: err instanceof Error ? err.message : String(err),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
  };
}

export function fromWire(e: WireError): Error {
  return Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code });
}

/** What a Worker and a worker's parentPort both are. */
export interface PortLike {
  postMessage(msg: unknown, transfer?: readonly ArrayBuffer[]): void;
}

export type Envelope =
  | { k: 'call'; id: number; m: string; a: unknown }
  | { k: 'reply'; id: number; r?: unknown; e?: WireError }
  | { k: 'item'; batch: boolean; name: string; v: unknown; last?: true }
  | { k: 'credit'; n: number }
  | { k: 'log'; line: string }
  | { k: 'ready'; info: unknown }
  | { k: 'failed'; e: WireError };

type Handler = (arg: never) => unknown;

/** A request/reply map: method name -> [argument, result]. */
export type Calls = Record<string, [unknown, unknown]>;

/** What a handler may return: its result, or nothing when the result is undefined. */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler with no result returns void
export type Answer<R> = undefined extends R ? R | void : R;

export class Endpoint<Out extends Calls, In extends Calls> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly handlers = new Map<string, Handler>();
  private readonly stream: { batch: boolean; name: string; v: unknown; last?: true }[] = [];
  private draining = false;
  private credits = CREDIT_WINDOW;
  /** Batches processed here whose credit has not gone back yet. */
  private owed = 0;
  private closed = false;
  /** Called when credit comes back (`n` batches were processed on the other side). */
  onCredit: (n: number) => void = () => {};
  /** Takes an item of the ordered stream; a batch's credit goes back once it returns (or throws). */
  onItem: (name: string, v: unknown, batch: boolean) => void = () => {};
  /** An item's handler threw: reported here, and the stream goes on. */
  onItemError: (err: unknown) => void = () => {};

  constructor(
    private readonly port: PortLike,
    /** Names the other side in errors: "mqtt broker thread". */
    private readonly peer: string,
  ) {}

  /** Whether a batch sent now stays within the credit window. */
  get canSend(): boolean {
    return this.credits > 0;
  }

  handle<K extends keyof In & string>(
    method: K,
    fn: (arg: In[K][0]) => Answer<In[K][1]> | Promise<Answer<In[K][1]>>,
  ): void {
    this.handlers.set(method, fn as Handler);
  }

  call<K extends keyof Out & string>(
    method: K,
    arg: Out[K][0],
    transfer?: readonly ArrayBuffer[],
  ): Promise<Out[K][1]> {
    if (this.closed) return Promise.reject(new Error(`${this.peer} is not running; cannot ${method}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ k: 'call', id, m: method, a: arg } satisfies Envelope, transfer);
    });
  }

  /** A batch in the ordered stream, counted against the credit window (the caller checks canSend first). */
  batch(name: string, v: unknown, transfer?: readonly ArrayBuffer[]): void {
    this.credits--;
    const item: Envelope = { k: 'item', batch: true, name, v };
    if (this.credits <= 0) item.last = true;
    this.port.postMessage(item, transfer);
  }

  /** An event in the ordered stream: taken after every batch sent before it. */
  event(name: string, v: unknown): void {
    this.port.postMessage({ k: 'item', batch: false, name, v } satisfies Envelope);
  }

  /** Takes an envelope from the other side; false when it is not one of the endpoint's own. */
  receive(msg: Envelope): boolean {
    switch (msg.k) {
      case 'call':
        // After everything the other side sent before it (a flush or stop must see those batches).
        this.drainAll();
        this.answer(msg.id, msg.m, msg.a);
        return true;
      case 'reply': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.e) p?.reject(fromWire(msg.e));
        else p?.resolve(msg.r);
        return true;
      }
      case 'item':
        this.stream.push(msg);
        // The first batch of a turn is taken at once (waiting for the turn's other work would add
        // to its latency); the rest one per turn after it, since the port delivers whatever is
        // queued in one go and I/O (the HTTP API, timers) would otherwise wait behind the stream.
        if (!this.draining) {
          this.takeOne();
          this.kick();
        }
        return true;
      case 'credit':
        this.credits += msg.n;
        this.onCredit(msg.n);
        return true;
      default:
        return false;
    }
  }

  /** Everything still queued from the other side, taken now (a stop: nothing it sent is left behind). */
  drainAll(): void {
    while (this.stream.length > 0) this.takeOne();
  }

  /** The other side is gone: calls waiting fail, new ones are refused, credit is restored. */
  failAll(reason: string): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
    this.credits = CREDIT_WINDOW;
  }

  private answer(id: number, method: string, arg: unknown): void {
    const fn = this.handlers.get(method);
    const reply = (r?: unknown, e?: unknown) =>
      this.port.postMessage(
        (e === undefined ? { k: 'reply', id, r } : { k: 'reply', id, e: toWire(e) }) satisfies Envelope,
      );
    if (!fn) {
      reply(undefined, new Error(`${method}: no such call`));
      return;
    }
    try {
      Promise.resolve((fn as (a: unknown) => unknown)(arg)).then(
        (r) => reply(r),
        (e: unknown) => reply(undefined, e ?? new Error(`${method} failed`)),
      );
    } catch (e) {
      reply(undefined, e);
    }
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.draining = false;
    if (this.stream.length === 0) return;
    this.takeOne();
    this.kick();
  };

  /** The events up to the next batch, the batch, and the events right behind it. */
  private takeOne(): void {
    let item = this.stream.shift();
    while (item && !item.batch) {
      this.deliver(item);
      item = this.stream.shift();
    }
    if (!item) return;
    this.deliver(item);
    this.owed++;
    if (!this.closed && (item.last || this.owed >= CREDIT_GROUP)) {
      this.port.postMessage({ k: 'credit', n: this.owed } satisfies Envelope);
      this.owed = 0;
    }
    while (this.stream.length > 0 && !this.stream[0]!.batch) this.deliver(this.stream.shift()!);
  }

  private deliver(item: { name: string; v: unknown; batch: boolean }): void {
    try {
      this.onItem(item.name, item.v, item.batch);
    } catch (err) {
      this.onItemError(err);
    }
  }
}
