import type { Worker } from 'node:worker_threads';
import type { WireError } from './io-protocol.js';

export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * Calls to a worker thread that answer with `{ t: 'reply', id, error? }`: each call gets an id and
 * a promise, settled by the reply with that id, or rejected by `failAll` when the thread exits.
 */
export class ThreadReplies {
  private readonly pending = new Map<number, (error?: WireError) => void>();
  private lastId = 0;

  /** Post `msg` with a fresh id to `worker`; resolves on its reply, rejects on a reply with an error. */
  call<M extends { t: string }>(worker: Worker, msg: M): Promise<void> {
    const id = ++this.lastId;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, (error) => (error ? reject(toError(error)) : resolve()));
      worker.postMessage({ ...msg, id });
    });
  }

  settle(id: number, error: WireError | undefined): void {
    const settle = this.pending.get(id);
    this.pending.delete(id);
    settle?.(error);
  }

  /** The thread is gone: every call waiting fails with `message`. */
  failAll(message: string): void {
    for (const settle of this.pending.values()) settle({ message });
    this.pending.clear();
  }
}

export function toError(e: WireError): Error {
  return Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code });
}
