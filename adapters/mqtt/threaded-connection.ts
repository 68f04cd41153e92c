import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { IClientOptions } from 'mqtt';
import { endThread, spawnSibling } from '../threads/spawn.js';
import type { FromIoThread, IoThreadData, ToIoThread, WireError } from './io-protocol.js';
import { readMessageBatch, TopicTable } from './message-batch.js';

/** What ExternalBrokerClient uses of an mqtt.js client; mqtt.js's MqttClient and ThreadedMqttConnection both have it. */
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
}

/**
 * A batch waiting to be handed over this big stops the thread reading the socket: ~6,000 typical
 * messages, some 60 ms of work for this thread at full load.
 */
const HIGH_WATER_BYTES = 1024 * 1024;
const END_TIMEOUT_MS = 5000;

/**
 * An mqtt.js client on a worker thread (mqtt-io-thread.ts), behind the part of MqttClient's
 * interface ExternalBrokerClient uses. Socket reads, MQTT parsing and acks run on that thread; this
 * one gets the messages in batches and emits them as 'message', as mqtt.js would. A thread that
 * dies is reported as an error and a close; reconnect() starts a new one.
 *
 * QoS 1 messages are acknowledged to the broker once the thread has taken them in, not once
 * processed: a crash can lose what was taken in and not yet processed (a few MB at most). A clean
 * endAsync() loses nothing: it delivers all of it first, and the thread acknowledges nothing more.
 */
export class ThreadedMqttConnection extends EventEmitter implements BrokerConnection {
  connected = false;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly replies = new Map<number, (error?: WireError) => void>();
  private ending = false;
  /** Received batches and the thread each came from, processed one per event-loop turn. */
  private readonly batches: { buffer: ArrayBuffer; byteLength: number; from: Worker; topics: TopicTable }[] =
    [];

  constructor(
    private readonly url: string,
    private readonly options: IClientOptions,
  ) {
    super();
    this.worker = this.spawn();
  }

  subscribe(
    filters: Record<string, { qos: 0 | 1 | 2; nl?: boolean }>,
    cb: (err: Error | null | undefined) => void,
  ): void {
    this.call({ t: 'subscribe', filters }).then(
      () => cb(null),
      (err: Error) => cb(err),
    );
  }

  unsubscribe(filters: string[], cb: (err: Error | null | undefined) => void): void {
    this.call({ t: 'unsubscribe', filters }).then(
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
    await this.call({ t: 'publish', topic, payload: bytes, qos: opts.qos, retain: opts.retain });
  }

  reconnect(): void {
    if (this.ending) return;
    if (this.worker) this.worker.postMessage({ t: 'reconnect' } satisfies ToIoThread);
    else this.worker = this.spawn();
  }

  /**
   * Ends the connection (as mqtt.js's endAsync), then hands on every message the thread took in:
   * those were acknowledged to the broker, so they are delivered before this resolves. A thread
   * that does not end within END_TIMEOUT_MS (mqtt.js waiting for a publish on a dead connection)
   * is terminated.
   */
  async endAsync(force = false): Promise<void> {
    this.ending = true;
    const worker = this.worker;
    if (worker) {
      await endThread(worker, () => this.call({ t: 'end', force }), END_TIMEOUT_MS);
      this.worker = undefined;
    }
    while (this.batches.length > 0) this.drain();
  }

  /** A request the thread answers with a `reply` of the same id. */
  private call(msg: WithoutId<Extract<ToIoThread, { id: number }>>): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('mqtt connection thread is not running'));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.replies.set(id, (error) => (error ? reject(toError(error)) : resolve()));
      worker.postMessage({ ...msg, id });
    });
  }

  private spawn(): Worker {
    const data: IoThreadData = {
      url: this.url,
      options: withoutFunctions(this.options),
      highWaterBytes: HIGH_WATER_BYTES,
    };
    const worker = spawnSibling(import.meta.url, 'mqtt-io-thread', data);
    // The thread numbers the topics it sends; a new thread starts its numbering afresh.
    const topics = new TopicTable();
    worker.on('message', (msg: FromIoThread) => this.onThread(worker, topics, msg));
    worker.on('error', (err) => {
      if (this.worker === worker) this.emit('error', err);
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const settle of this.replies.values()) settle({ message: 'mqtt connection thread exited' });
      this.replies.clear();
      this.connected = false;
      if (!this.ending) this.emit('close');
    });
    return worker;
  }

  private readonly drain = (): void => {
    const b = this.batches.shift();
    if (!b) return;
    try {
      readMessageBatch(
        b.buffer,
        b.byteLength,
        b.topics,
        (topic, payload) => this.emit('message', topic, payload),
        // A listener that threw: reported, and the rest of the batch (and its topics) still read.
        (err) => this.emit('error', err instanceof Error ? err : new Error(String(err))),
      );
    } finally {
      // Only the thread that sent it counts it; a replaced thread is gone.
      if (this.worker === b.from) b.from.postMessage({ t: 'done' } satisfies ToIoThread);
      if (this.batches.length > 0) setImmediate(this.drain);
    }
  };

  private onThread(worker: Worker, topics: TopicTable, msg: FromIoThread): void {
    switch (msg.t) {
      case 'msgs':
        // Not in this callback: the port would hand over the next batch in the same turn, and the
        // thread's other I/O (HTTP API, timers) would wait behind a stream of batches.
        this.batches.push({ buffer: msg.buffer, byteLength: msg.byteLength, from: worker, topics });
        if (this.batches.length === 1) setImmediate(this.drain);
        return;
      case 'connect':
        this.connected = true;
        this.emit('connect', { sessionPresent: msg.sessionPresent });
        return;
      case 'close':
        this.connected = false;
        this.emit('close');
        return;
      case 'error':
        this.emit('error', toError(msg.error));
        return;
      case 'reply': {
        const settle = this.replies.get(msg.id);
        this.replies.delete(msg.id);
        settle?.(msg.error);
        return;
      }
    }
  }
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

function toError(e: WireError): Error {
  return Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code });
}

function withoutFunctions(o: IClientOptions): IoThreadData['options'] {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => typeof v !== 'function'),
  ) as IoThreadData['options'];
}
