import { GridgateError } from '../../processors/errors.js';

/** One slot of the ffmpeg process budget; release() is idempotent. */
export interface ProcessLease {
  release(): void;
}

/**
 * The cap on ffmpeg processes (cameras.maxProcesses), shared by camera analyses, snapshot grabs and
 * live relays: each holds a lease for as long as it may run a process. An analysis keeps its lease
 * through restarts and backoff, so a relay cannot take the slot of a camera that is reconnecting.
 */
export class ProcessBudget {
  private readonly held = new Set<object>();

  /** `onRelease` is called after every release (capped cameras retry then). */
  constructor(
    readonly max: number,
    private readonly onRelease: () => void = () => {},
  ) {}

  count(): number {
    return this.held.size;
  }

  tryAcquire(): ProcessLease | undefined {
    if (this.held.size >= this.max) return undefined;
    const token = {};
    this.held.add(token);
    return {
      release: () => {
        if (this.held.delete(token)) this.onRelease();
      },
    };
  }

  /** A lease, or GG_ERR_CAMERA_CAP saying how to raise the cap. */
  acquire(purpose: string): ProcessLease {
    const lease = this.tryAcquire();
    if (!lease) throw capError(this.max, purpose);
    return lease;
  }
}

export function capError(max: number, purpose: string): GridgateError {
  return new GridgateError(
    'GG_ERR_CAMERA_CAP',
    `cannot start ffmpeg for ${purpose}: all ${max} processes of cameras.maxProcesses are in use; raise cameras.maxProcesses in the gateway config (each camera needs one, plus one per live view and snapshot in progress)`,
  );
}
