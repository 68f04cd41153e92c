import { parentPort, workerData } from 'node:worker_threads';
import { type Logger, pino } from 'pino';
import { LOG_OPTIONS } from '../log/options.js';
import type { ThreadBoot } from './channel.js';
import { type Calls, Endpoint, type Envelope, toWire } from './endpoint.js';

/**
 * The worker's side of a ThreadChannel: its data, an Endpoint to the gateway's thread, and a pino
 * logger whose destination is the channel (lines go over as written, redacted and levelled here,
 * and the gateway's side writes them to its own destination).
 */
export interface ServedThread<Out extends Calls, In extends Calls, Data> {
  data: Data;
  endpoint: Endpoint<Out, In>;
  logger: Logger;
  /** Tells the gateway's side the thread is up (start() resolves with `info`). */
  ready(info?: unknown): void;
  /** Tells it why the thread cannot start, and ends the thread. */
  fail(err: unknown): void;
  /** Ends the thread once what was posted has gone (after the reply to `stop`). */
  close(): void;
}

export function serveThread<Out extends Calls, In extends Calls, Data>(): ServedThread<Out, In, Data> {
  const port = parentPort;
  if (!port) throw new Error('this module runs as a worker thread of a ThreadChannel');
  const boot = workerData as ThreadBoot;
  const endpoint = new Endpoint<Out, In>(port, "the gateway's thread");
  port.on('message', (msg: Envelope) => endpoint.receive(msg));
  const logger = pino(
    { level: boot.log.level, base: undefined, ...LOG_OPTIONS },
    { write: (line: string) => port.postMessage({ k: 'log', line } satisfies Envelope) },
  ).child(boot.log.bindings);
  return {
    data: boot.data as Data,
    endpoint,
    logger,
    ready: (info?: unknown) => port.postMessage({ k: 'ready', info } satisfies Envelope),
    fail(err: unknown) {
      port.postMessage({ k: 'failed', e: toWire(err) } satisfies Envelope);
      port.close();
    },
    close: () => port.close(),
  };
}
