import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { IClientOptions } from 'mqtt';
import type { Logger } from 'pino';
import { ThreadChannel } from '../threads/channel.js';
import { fromWire, type WireError } from '../threads/endpoint.js';
import { IntakeCheckpoint, type IntakeWiring } from './intake-checkpoint.js';
import type { IoAsks, IoCalls, IoThreadData } from './io-protocol.js';
import { type MessagesBatch, readMessageBatch, TopicTable } from './message-batch.js';

/** What ExternalBrokerClient uses of an mqtt.js client, behind the thread. */
export interface BrokerConnection {
  readonly connected: boolean;
  on(event: 'connect', cb: (connack: { sessionPresent: boolean }) => void): this;
  on(event: 'message', cb: (topic: string, payload: Buffer) => void): this;
  on(event: 'error', cb: (err: Error) => void): this;
  on(event: 'close', cb: () => void): this;
  removeAllListeners(): this;
  subscribe(
    filters: Record<string, { qos: 0 | 1 | 2; nl?: boolean }>,
    cb: (err: Error | null | undefined) => void,
  ): unknown;
  unsubscribe(filters: string[], cb: (err: Error | null | undefined) => void): unknown;
  publishAsync(
    topic: string,
    payload: Buffer | string,
    opts: { qos: 0 | 1 | 2; retain: boolean },
  ): Promise<unknown>;
  reconnect(): unknown;
  endAsync(force?: boolean): Promise<void>;
  /** Messages handed on whose readings are not yet confirmed durable (0 without an intake log). */
  readonly unsettled: number;
}

/**
 * A batch waiting to be handed over this big stops the thread reading the socket: ~6,000 typical
 * messages, some 60 ms of work for this thread at full load.
 */
const HIGH_WATER_BYTES = 1024 * 1024;
const END_TIMEOUT_MS = 5000;

/**
 * An mqtt.js client on a worker thread (mqtt-io-thread.ts), through the thread channel, behind the
 * part of MqttClient's interface ExternalBrokerClient uses. Socket reads, MQTT parsing and acks run
 * on that thread; this one gets the messages in batches and emits them as 'message', as mqtt.js
 * would. A thread that dies is reported as an error and a close; reconnect() starts a new one.
 *
 * With an intake log, QoS 1 messages are acknowledged once they are on disk in it. After each
 * batch is emitted (the pipeline writes its readings synchronously), this side asks the writer when
 * they are durable, then moves the log's checkpoint past the batch. Without one they are
 * acknowledged once the thread has taken them in, and a crash can lose what was not yet processed.
 * A clean endAsync() loses nothing either way: it delivers everything taken in first, and the
 * thread acknowledges nothing more.
 */
export class ThreadedMqttConnection extends EventEmitter implements BrokerConnection {
  connected = false;
  private ending = false;
  private readonly channel: ThreadChannel<IoCalls, IoAsks>;
  /** The thread numbers the topics it sends; a new thread starts its numbering afresh. */
  private topics = new TopicTable();
  private readonly checkpoint: IntakeCheckpoint | undefined;

  constructor(url: string, options: IClientOptions, logger: Logger, intake?: IntakeWiring) {
    super();
    this.checkpoint =
      intake &&
      new IntakeCheckpoint(
        intake,
        (seq) => {
          if (this.channel.running) this.channel.event('settled', seq);
        },
        (err) => this.emit('error', err),
      );
    this.channel = new ThreadChannel<IoCalls, IoAsks>(
      {
        callerUrl: import.meta.url,
        module: 'mqtt-io-thread',
        name: 'mqtt connection thread',
        logger,
        stopTimeoutMs: END_TIMEOUT_MS,
      },
      () => {
        this.topics = new TopicTable();
        return {
          url,
          options: withoutFunctions(options),
          highWaterBytes: HIGH_WATER_BYTES,
          intake: intake?.log,
        } satisfies IoThreadData;
      },
    );
    this.channel.onItem = (name, v) => this.onItem(name, v);
    this.channel.onExit = () => {
      this.gone();
      return undefined;
    };
    this.start();
  }

  get unsettled(): number {
    return this.checkpoint?.unsettled ?? 0;
  }

  /** The thread (tests end it, as a crash would). */
  get thread(): Worker | undefined {
    return this.channel.worker;
  }

  subscribe(
    filters: Record<string, { qos: 0 | 1 | 2; nl?: boolean }>,
    cb: (err: Error | null | undefined) => void,
  ): void {
    this.channel.call('subscribe', filters).then(
      () => cb(null),
      (err: Error) => cb(err),
    );
  }

  unsubscribe(filters: string[], cb: (err: Error | null | undefined) => void): void {
    this.channel.call('unsubscribe', filters).then(
      () => cb(null),
      (err: Error) => cb(err),
    );
  }

  async publishAsync(
    topic: string,
    payload: Buffer | string,
    opts: { qos: 0 | 1 | 2; retain: boolean },
  ): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    await this.channel.call('publish', { topic, payload: bytes, qos: opts.qos, retain: opts.retain });
  }

  reconnect(): void {
    if (this.ending) return;
    if (this.channel.running) this.channel.event('reconnect', undefined);
    else this.start();
  }

  /**
   * Ends the connection (as mqtt.js's endAsync), then hands on every message the thread took in:
   * those were acknowledged to the broker, so they are delivered before this resolves. A thread
   * that does not end within END_TIMEOUT_MS (mqtt.js waiting for a publish on a dead connection)
   * is terminated.
   */
  async endAsync(force = false): Promise<void> {
    this.ending = true;
    await this.channel.stop(force);
    this.connected = false;
  }

  private start(): void {
    this.channel.start().catch((err: Error) => {
      this.emit('error', err);
      this.gone();
    });
  }

  private gone(): void {
    this.connected = false;
    if (!this.ending) this.emit('close');
  }

  private onItem(name: string, v: unknown): void {
    switch (name) {
      case 'msgs': {
        const b = v as MessagesBatch;
        readMessageBatch(
          b.buffer,
          b.byteLength,
          this.topics,
          (topic, payload) => this.emit('message', topic, payload),
          // A listener that threw: reported, and the rest of the batch (and its topics) still read.
          (err) => this.emit('error', err instanceof Error ? err : new Error(String(err))),
        );
        this.checkpoint?.afterBatch(b.seq);
        return;
      }
      case 'connect':
        this.connected = true;
        this.emit('connect', v as { sessionPresent: boolean });
        return;
      case 'close':
        this.connected = false;
        this.emit('close');
        return;
      case 'error':
        this.emit('error', fromWire(v as WireError));
        return;
    }
  }
}

function withoutFunctions(o: IClientOptions): IoThreadData['options'] {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => typeof v !== 'function'),
  ) as IoThreadData['options'];
}
