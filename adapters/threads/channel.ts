import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Logger, pino } from 'pino';
import { type Answer, type Calls, Endpoint, type Envelope, fromWire } from './endpoint.js';

/** After its answer to stop, how long a thread has to end on its own before it is terminated. */
const EXIT_GRACE_MS = 1000;

/**
 * The gateway's side of a worker thread: the one way the broker, the MQTT client and the writer
 * talk to their threads. It starts the thread (a sibling module, see siblingWorker), waits for its
 * `ready`, relays calls, batches and events through an Endpoint, fails the calls waiting when the
 * thread exits, restarts it with doubling backoff when asked to, and writes the thread's log lines
 * (pino JSON, already redacted and levelled there) into this side's pino destination as they are.
 */
export interface ChannelOptions {
  /** import.meta.url of the module next to the thread's entry; `module` is the entry's base name. */
  callerUrl: string;
  module: string;
  /** "mqtt broker thread": names it in logs and errors. */
  name: string;
  logger: Logger;
  /** Restart after an unexpected exit; without it a dead thread stays dead (the owner decides). */
  restart?: { firstMs: number; maxMs: number; calmMs: number };
  /** How long stop() waits for the thread's own stop before terminating it. */
  stopTimeoutMs: number;
}

/** What a thread is started with: its own data and how to log. */
export interface ThreadBoot {
  data: unknown;
  log: { level: string; bindings: Record<string, unknown> };
}

export class ThreadChannel<Out extends Calls, In extends Calls, Ready = void> {
  private current: { worker: Worker; endpoint: Endpoint<Out, In> } | undefined;
  private stopping = false;
  private restarts = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly handlers: [string, (arg: never) => unknown][] = [];
  private readonly logStream: { write(line: string): unknown };
  /** Takes the thread's stream items in order (see Endpoint). */
  onItem: (name: string, v: unknown, batch: boolean) => void = () => {};
  /** Credit came back: `n` batches sent to the thread were processed. */
  onCredit: (n: number) => void = () => {};
  /** The thread exited without being asked to (after it was ready), before any restart; what it returns joins the log line. */
  onExit: (code: number) => Record<string, unknown> | undefined = () => undefined;
  /** A restarted thread is ready. */
  onRestart: (ready: Ready) => void = () => {};

  constructor(
    private readonly opts: ChannelOptions,
    private readonly data: () => unknown,
  ) {
    this.logStream =
      (opts.logger as unknown as Record<symbol, { write(line: string): unknown } | undefined>)[
        pino.symbols.streamSym
      ] ?? process.stdout;
  }

  /** A thread runs (or is starting: what is sent meanwhile waits in its port). */
  get running(): boolean {
    return this.current !== undefined && !this.stopping;
  }

  /** The thread itself (tests end it, as a crash would). */
  get worker(): Worker | undefined {
    return this.current?.worker;
  }

  get canSend(): boolean {
    return this.current?.endpoint.canSend ?? false;
  }

  handle<K extends keyof In & string>(
    method: K,
    fn: (arg: In[K][0]) => Answer<In[K][1]> | Promise<Answer<In[K][1]>>,
  ): void {
    this.handlers.push([method, fn as (arg: never) => unknown]);
    this.current?.endpoint.handle(method, fn);
  }

  /** Starts the thread; rejects with the thread's own reason when it cannot get ready. */
  start(): Promise<Ready> {
    this.stopping = false;
    return this.spawn();
  }

  call<K extends keyof Out & string>(
    method: K,
    arg: Out[K][0],
    transfer?: readonly ArrayBuffer[],
  ): Promise<Out[K][1]> {
    const c = this.current;
    if (!c) return Promise.reject(new Error(`${this.opts.name} is not running; cannot ${method}`));
    return c.endpoint.call(method, arg, transfer);
  }

  /** A batch to the thread; false (nothing sent) when no thread runs. The caller checks canSend for back-pressure. */
  batch(name: string, v: unknown, transfer?: readonly ArrayBuffer[]): boolean {
    const c = this.current;
    if (!c) return false;
    c.endpoint.batch(name, v, transfer);
    return true;
  }

  event(name: string, v: unknown): void {
    this.current?.endpoint.event(name, v);
  }

  /**
   * Asks the thread to stop (its `stop` call: it finishes its work and sends what it holds), waits
   * for its reply or its exit within stopTimeoutMs, gives it a moment to end on its own (so its exit
   * code says whether it stopped cleanly), terminates it if it did not (a thread that hangs is cut
   * off, not waited for), and takes everything it sent before going. Resolves with the stop call's
   * answer (undefined if the thread did not give one).
   */
  async stop(arg?: unknown): Promise<unknown> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const c = this.current;
    if (!c) return undefined;
    let answer: unknown;
    let ended = false;
    const exited = new Promise<void>((resolve) =>
      c.worker.once('exit', () => {
        ended = true;
        resolve();
      }),
    );
    const asked = c.endpoint.call('stop' as keyof Out & string, arg).then(
      (r) => {
        answer = r;
      },
      () => undefined,
    );
    await within(this.opts.stopTimeoutMs, Promise.race([asked, exited]));
    await within(EXIT_GRACE_MS, exited);
    if (!ended) {
      await c.worker.terminate();
      this.opts.logger.error(
        { timeoutMs: this.opts.stopTimeoutMs },
        `${this.opts.name} did not stop in time; terminated`,
      );
    }
    c.endpoint.drainAll();
    if (this.current === c) this.current = undefined;
    return answer;
  }

  private spawn(): Promise<Ready> {
    const { logger } = this.opts;
    const boot: ThreadBoot = {
      data: this.data(),
      log: { level: logger.level, bindings: logger.bindings() },
    };
    const worker = siblingWorker(this.opts.callerUrl, this.opts.module, boot);
    const endpoint = new Endpoint<Out, In>(worker, this.opts.name);
    for (const [m, fn] of this.handlers) endpoint.handle(m as keyof In & string, fn as never);
    endpoint.onItem = (name, v, batch) => this.onItem(name, v, batch);
    endpoint.onItemError = (err) =>
      logger.error({ err }, `${this.opts.name}: a message from it could not be handled`);
    endpoint.onCredit = (n) => this.onCredit(n);
    this.startedAt = Date.now();
    this.current = { worker, endpoint };
    // Never what keeps the process alive: stop() is what ends it.
    worker.unref();
    return new Promise<Ready>((resolve, reject) => {
      let ready = false;
      let failure: Error | undefined;
      worker.on('message', (msg: Envelope) => {
        if (endpoint.receive(msg)) return;
        if (msg.k === 'log') this.logStream.write(msg.line.endsWith('\n') ? msg.line : `${msg.line}\n`);
        else if (msg.k === 'ready') {
          ready = true;
          resolve(msg.info as Ready);
        } else if (msg.k === 'failed') failure = fromWire(msg.e);
      });
      worker.on('error', (err) => {
        failure = err;
        if (ready) logger.error({ err }, `${this.opts.name} failed`);
      });
      worker.on('exit', (code) => {
        endpoint.failAll(`${this.opts.name} exited`);
        if (!ready) {
          if (this.current?.worker === worker) this.current = undefined;
          const err = failure ?? new Error(`${this.opts.name} exited (code ${code}) before it was ready`);
          logger.error({ err }, `${this.opts.name} failed`);
          reject(err);
          return;
        }
        if (this.current?.worker !== worker) return;
        this.current = undefined;
        if (this.stopping) return;
        // What it sent before it went is taken before its exit is reported.
        endpoint.drainAll();
        this.scheduleRestart(code, this.onExit(code));
      });
    });
  }

  private scheduleRestart(code: number, detail?: Record<string, unknown>): void {
    const r = this.opts.restart;
    if (!r) return;
    if (Date.now() - this.startedAt > r.calmMs) this.restarts = 0;
    const delay = Math.min(r.maxMs, r.firstMs * 2 ** this.restarts++);
    this.opts.logger.error(
      { code, ...detail, restartInMs: delay },
      `${this.opts.name} exited; restarting it`,
    );
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.spawn().then(
        (ready) => this.onRestart(ready),
        (err: unknown) => {
          this.opts.logger.error({ err }, `${this.opts.name} could not be restarted`);
          this.scheduleRestart(-1);
        },
      );
    }, delay);
    this.restartTimer.unref();
  }
}

/** Waits for `p` or `ms`, whichever comes first. */
async function within(ms: number, p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * A worker thread running the module `name` beside the caller (`import.meta.url`). From dist/ that
 * is the compiled .js, started as is. Only when the caller runs from TypeScript source (the test
 * suite, tsx) does the thread go through ts-entry.mjs, which registers the dev dependency tsx: the
 * built package never loads it.
 */
function siblingWorker(callerUrl: string, name: string, workerData: unknown): Worker {
  const ext = extname(fileURLToPath(callerUrl));
  const target = new URL(`./${name}${ext}`, callerUrl);
  if (ext !== '.ts') return new Worker(target, { workerData });
  const tsEntry = new URL('./ts-entry.mjs', import.meta.url);
  const boot = `import(${JSON.stringify(tsEntry.href)}).then((m) => m.run(${JSON.stringify(target.href)}))`;
  return new Worker(boot, { eval: true, workerData });
}
