import type { Worker } from 'node:worker_threads';
import type { IClientOptions } from 'mqtt';
import type { Logger } from 'pino';
import { ThreadChannel } from '../threads/channel.js';
import { fromWire, type WireError } from '../threads/endpoint.js';
import { EdgeStreamReader } from './edge-stream.js';
import type { IntakeWiring } from './intake-checkpoint.js';
import type { IntakeLogConfig } from './intake-log.js';

const END_TIMEOUT_MS = 5000;

/*
 * ThreadedMqttConnection <-> mqtt-io-thread.ts over the thread channel (adapters/threads/). The
 * thread sends `msgs` batches (edge-stream.ts) and `connect` / `close` / `error` events in the same
 * ordered stream; the gateway's side sends `reconnect`, and `settled` (edge-stream.ts).
 */
export interface IoThreadData {
  url: string;
  /** Plain data: the thread sets mqtt.js's `log` function itself. */
  options: Omit<IClientOptions, 'log'>;
  /** Where QoS 1 messages are logged before they are acknowledged; none: acknowledged as taken in. */
  intake?: IntakeLogConfig;
}

export type IoCalls = {
  subscribe: [Record<string, { qos: 0 | 1 | 2; nl?: boolean }>, undefined];
  unsubscribe: [string[], undefined];
  publish: [{ topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean }, undefined];
  /** Ends the connection (force: without waiting for in-flight publishes); the thread then ends. */
  stop: [boolean | undefined, undefined];
};

export type IoAsks = Record<never, [unknown, unknown]>;

/** What the connection reports, as mqtt.js's events would. */
export interface ConnectionEvents {
  connect(connack: { sessionPresent: boolean }): void;
  message(topic: string, payload: Buffer): void;
  error(err: Error): void;
  close(): void;
}

/**
 * An mqtt.js client on a worker thread (mqtt-io-thread.ts), through the thread channel. Socket
 * reads, MQTT parsing and acks run on that thread; this one gets the messages in batches and
 * reports them one by one. A thread that dies is reported as a close; reconnect() starts a new one.
 *
 * With an intake log, QoS 1 messages are acknowledged once they are on disk in it, and the log's
 * checkpoint moves past each batch once its readings are durable (edge-stream.ts). Without one they
 * are acknowledged once the thread has taken them in, and a crash can lose what was not yet
 * processed. A clean end() loses nothing either way: it delivers everything taken in first, and
 * the thread acknowledges nothing more.
 */
export class ThreadedMqttConnection {
  connected = false;
  private ending = false;
  private readonly channel: ThreadChannel<IoCalls, IoAsks>;
  private readonly stream: EdgeStreamReader;

  constructor(
    url: string,
    options: IoThreadData['options'],
    logger: Logger,
    intake: IntakeWiring | undefined,
    private readonly on: ConnectionEvents,
  ) {
    this.channel = new ThreadChannel<IoCalls, IoAsks>(
      {
        callerUrl: import.meta.url,
        module: 'mqtt-io-thread',
        name: 'mqtt connection thread',
        logger,
        stopTimeoutMs: END_TIMEOUT_MS,
      },
      (): IoThreadData => {
        this.stream.restart();
        return { url, options, intake: intake?.log };
      },
    );
    this.stream = new EdgeStreamReader(this.channel, intake, (err) => on.error(err));
    this.channel.onItem = (name, v) => this.onItem(name, v);
    this.channel.onExit = () => {
      this.gone();
      return undefined;
    };
    this.start();
  }

  /** Messages handed on whose readings are not yet durable (0 without an intake log). */
  get unsettled(): number {
    return this.stream.unsettled;
  }

  /** The thread (tests end it, as a crash would). */
  get thread(): Worker | undefined {
    return this.channel.worker;
  }

  /** Resolves once the broker granted every filter; rejects with its refusal (a SUBACK code as err.code). */
  subscribe(filters: Record<string, { qos: 0 | 1 | 2; nl?: boolean }>): Promise<void> {
    return this.channel.call('subscribe', filters);
  }

  unsubscribe(filters: string[]): Promise<void> {
    return this.channel.call('unsubscribe', filters);
  }

  publish(topic: string, payload: Buffer | string, opts: { qos: 0 | 1 | 2; retain: boolean }): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    return this.channel.call('publish', { topic, payload: bytes, qos: opts.qos, retain: opts.retain });
  }

  reconnect(): void {
    if (this.ending) return;
    if (this.channel.running) this.channel.event('reconnect', undefined);
    else this.start();
  }

  /**
   * Ends the connection (as mqtt.js's end), then hands on every message the thread took in: those
   * were acknowledged to the broker, so they are delivered before this resolves. A thread that does
   * not end within END_TIMEOUT_MS (mqtt.js waiting for a publish on a dead connection) is
   * terminated.
   */
  async end(force: boolean): Promise<void> {
    this.ending = true;
    await this.channel.stop(force);
    this.connected = false;
  }

  private start(): void {
    this.channel.start().catch((err: Error) => {
      this.on.error(err);
      this.gone();
    });
  }

  private gone(): void {
    this.connected = false;
    if (!this.ending) this.on.close();
  }

  private onItem(name: string, v: unknown): void {
    switch (name) {
      case 'msgs':
        this.stream.read(
          v,
          (topic, payload) => this.on.message(topic, payload),
          // A listener that threw: reported, and the rest of the batch (and its topics) still read.
          (err) => this.on.error(err instanceof Error ? err : new Error(String(err))),
        );
        return;
      case 'connect':
        this.connected = true;
        this.on.connect(v as { sessionPresent: boolean });
        return;
      case 'close':
        this.connected = false;
        this.on.close();
        return;
      case 'error':
        this.on.error(fromWire(v as WireError));
        return;
    }
  }
}
