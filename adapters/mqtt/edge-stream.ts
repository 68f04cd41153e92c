import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Calls, Endpoint } from '../threads/endpoint.js';
import { IntakeCheckpoint, type IntakeWiring } from './intake-checkpoint.js';
import { IntakeEdge } from './intake-edge.js';
import type { IntakeLogConfig } from './intake-log.js';
import { MessageBatchWriter, type MessagesBatch, readMessageBatch, TopicTable } from './message-batch.js';

/*
 * The device messages of an MQTT edge thread (broker-thread.ts, mqtt-io-thread.ts) on their way to
 * the gateway's thread, as `msgs` batches (message-batch.ts) in the channel's ordered stream: one
 * class for each end.
 */

/** With credit in hand, a batch this big goes at once rather than at the end of the turn. */
const HANDOVER_MESSAGES = 128;

/**
 * The thread's end. Each message taken in joins the batch and, with an intake log, the log
 * (intake-edge.ts: its acknowledgement waits until it is on disk). At the end of the turn of the
 * thread's event loop the turn's messages go to the log, and the batch is handed over if the
 * channel has credit; with credit, a batch of HANDOVER_MESSAGES goes before that, so the gateway's
 * thread starts on it while this one reads on (a turn can read several hundred messages). Without
 * credit the batch grows; past highWaterBytes `full` says so, and the thread holds its source (the
 * broker's reads, mqtt.js's message callback) so the sockets and TCP push back on the senders.
 * Credit coming back hands the batch over, and `release` lets the source go once the batch is
 * below half the mark. The source is held only without credit: holding it with credit in hand
 * would wait for credit the gateway's thread owes for no batch (it returns credit in groups).
 */
export class EdgeStream {
  readonly #batch = new MessageBatchWriter();
  readonly #intake: IntakeEdge;
  #scheduled = false;
  #ending = false;
  /** While the log is replayed: resolves when credit comes back. */
  #credit: (() => void) | undefined;

  constructor(
    private readonly endpoint: Pick<Endpoint<Calls, Calls>, 'canSend' | 'batch' | 'onCredit'>,
    intake: IntakeLogConfig | undefined,
    private readonly logger: Logger,
    private readonly highWaterBytes: number,
    /** Lets the held source go. */
    private readonly release: () => void,
  ) {
    this.#intake = new IntakeEdge(intake, logger);
    endpoint.onCredit = () => {
      const replaying = this.#credit;
      this.#credit = undefined;
      if (replaying) return replaying();
      // Committed now rather than at the turn's end: a batch only ever claims messages in the log.
      this.#turn();
      if (this.#batch.bytes <= highWaterBytes / 2) release();
    };
  }

  /** No credit, and the batch is past the high-water mark: the source is to be held. */
  get full(): boolean {
    return !this.endpoint.canSend && this.#batch.bytes > this.highWaterBytes;
  }

  /** Set by end(): nothing more is to be taken in. */
  get ending(): boolean {
    return this.#ending;
  }

  /** A message taken in: `socket` is where its acknowledgement is written (held until it is logged). */
  take(topic: string, payload: Uint8Array, qos: number, socket: Writable, source = 0, at = 0): void {
    this.#batch.add(topic, payload, source, at);
    this.#intake.taken(topic, payload, qos, socket);
    if (this.#batch.count >= HANDOVER_MESSAGES && this.endpoint.canSend) {
      // Logged before it is claimed: a batch only ever claims messages in the log.
      this.#intake.commit();
      this.#handOver(false);
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#turn);
  }

  /** Hands over everything taken in, credit or not, so what the thread sends next comes after it. */
  flush(): void {
    this.#intake.commit();
    this.#handOver(true);
  }

  /** The gateway's side moved the log's checkpoint to `seq`. */
  settled(seq: number): void {
    this.#intake.settled(seq);
  }

  /**
   * Stopping: what was taken in goes over now with its acknowledgements, and from now on every
   * batch goes at once, credit or not.
   */
  end(): void {
    this.#ending = true;
    this.flush();
    this.release();
  }

  /** Everything taken in since end() goes over, and the log is closed. */
  close(): void {
    this.flush();
    this.#intake.close();
  }

  /**
   * Hands over what the log holds past its checkpoint, oldest first, each message with its receive
   * time, as credit allows; before the thread takes anything new in.
   */
  async replay(): Promise<void> {
    const send = async () => {
      while (!this.endpoint.canSend) await new Promise<void>((resolve) => (this.#credit = resolve));
      this.#handOver(false);
    };
    let messages = 0;
    for (const record of this.#intake.unsettled()) {
      for (const m of record.messages) this.#batch.add(m.topic, m.payload, 0, record.at);
      messages += record.messages.length;
      if (this.#batch.bytes >= this.highWaterBytes) await send();
    }
    if (this.#batch.count > 0) await send();
    if (messages > 0)
      this.logger.info(
        { messages },
        'handed over messages acknowledged before the last stop and not yet written',
      );
  }

  /** The turn's end: its messages to the log, then their acknowledgements, then the batch. */
  readonly #turn = (): void => {
    this.#scheduled = false;
    this.#intake.commit();
    this.#handOver(false);
  };

  #handOver(force: boolean): void {
    if (this.#batch.count === 0 || (!this.endpoint.canSend && !force && !this.#ending)) return;
    const { buffer, byteLength } = this.#batch.take();
    const batch: MessagesBatch = { buffer, byteLength, seq: this.#intake.seq };
    this.endpoint.batch('msgs', batch, [buffer]);
  }
}

/**
 * The gateway's end: reads the batches in order and, with an intake log, moves the log's checkpoint
 * past each once its readings are durable (intake-checkpoint.ts).
 */
export class EdgeStreamReader {
  /** The thread numbers the topics it sends; a new thread starts its numbering afresh. */
  #topics = new TopicTable();
  readonly #checkpoint: IntakeCheckpoint | undefined;

  constructor(
    channel: { readonly running: boolean; event(name: string, v: unknown): void },
    intake: IntakeWiring | undefined,
    onCheckpointError: (err: Error) => void,
  ) {
    const tell = (seq: number) => {
      if (channel.running) channel.event('settled', seq);
    };
    this.#checkpoint = intake && new IntakeCheckpoint(intake, tell, onCheckpointError);
  }

  /** Messages handed on whose readings are not yet durable (0 without an intake log). */
  get unsettled(): number {
    return this.#checkpoint?.unsettled ?? 0;
  }

  /** A new thread is starting. */
  restart(): void {
    this.#topics = new TopicTable();
  }

  /** Each message of a `msgs` batch to `each`, in order; the first error `each` throws to `onError`. */
  read(
    v: unknown,
    each: (topic: string, payload: Buffer, source: number, at: number) => void,
    onError: (err: unknown) => void,
  ): void {
    const b = v as MessagesBatch;
    readMessageBatch(b.buffer, b.byteLength, this.#topics, each, onError);
    this.#checkpoint?.afterBatch(b.seq);
  }
}
