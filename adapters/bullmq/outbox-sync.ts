import { fdatasync } from 'node:fs';

/**
 * Group commit for the outbox's append file: one fdatasync at a time, and every sync() asked for
 * while one runs shares the next, so a burst of appends costs at most two fdatasyncs, not one each.
 */
export class GroupSync {
  private queued: Promise<void> | undefined;
  private last: Promise<void> = Promise.resolve();

  /** `fd()`: the file to sync when the sync starts (undefined: nothing to sync). */
  constructor(private readonly fd: () => number | undefined) {}

  /** Resolves once everything written to the file so far is on the disk. */
  sync(): Promise<void> {
    if (this.fd() === undefined) return Promise.resolve();
    if (!this.queued) {
      const started = this.last.then(() => {
        this.queued = undefined;
        const fd = this.fd();
        return new Promise<void>((res, rej) => {
          if (fd === undefined) return res();
          fdatasync(fd, (err) => {
            // The segment was delivered and closed meanwhile: nothing of it needs the disk any more.
            if (err && err.code !== 'EBADF' && err.code !== 'EINVAL') rej(err);
            else res();
          });
        });
      });
      this.queued = started;
      this.last = started.catch(() => {});
    }
    return this.queued;
  }
}
