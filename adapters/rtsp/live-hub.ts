import {
  type LiveCamera,
  LiveRelay,
  type LiveRelayOptions,
  type LiveViewer,
  type RelayStatus,
} from './live-relay.js';

/** What every relay is given (all but its camera), and how long an idle one is kept. */
export interface LiveHubOptions extends Omit<LiveRelayOptions, 'camera'> {
  /** A relay stops this long after its last viewer leaves (cameras.live.idleStopS). */
  idleStopMs: number;
}

/**
 * The live relays by camera: the first viewer starts one, the last one leaving arms a timer that
 * stops it (a viewer reloading the page does not pay for a new RTSP connect).
 */
export class LiveHub {
  private readonly relays = new Map<string, LiveRelay>();
  private readonly idle = new Map<string, NodeJS.Timeout>();
  private readonly stopping = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly opts: LiveHubOptions) {}

  /**
   * The camera's running relay, started if needed (throws GG_ERR_CAMERA_CAP when the process
   * budget is spent). Until a viewer is added it counts as idle, so a handshake that fails after
   * this call does not leave it running.
   */
  open(camera: LiveCamera): LiveRelay {
    if (this.closed) throw new Error('live hub is stopped');
    let relay = this.relays.get(camera.id);
    if (relay) {
      relay.reconfigure(camera);
    } else {
      relay = new LiveRelay({ ...this.opts, camera });
      relay.start();
      this.relays.set(camera.id, relay);
    }
    if (relay.viewers.size === 0) this.armIdle(relay);
    return relay;
  }

  join(relay: LiveRelay, viewer: LiveViewer): void {
    clearTimeout(this.idle.get(relay.id));
    this.idle.delete(relay.id);
    relay.viewers.add(viewer);
  }

  leave(relay: LiveRelay, viewer: LiveViewer): void {
    relay.viewers.delete(viewer);
    if (relay.viewers.size === 0 && this.relays.get(relay.id) === relay) this.armIdle(relay);
  }

  status(cameraId: string): RelayStatus | undefined {
    return this.relays.get(cameraId)?.status();
  }

  /** Stops every relay and waits for their processes. */
  async stop(): Promise<void> {
    this.closed = true;
    for (const t of this.idle.values()) clearTimeout(t);
    this.idle.clear();
    for (const relay of this.relays.values()) this.retire(relay);
    await Promise.all([...this.stopping]);
  }

  private armIdle(relay: LiveRelay): void {
    clearTimeout(this.idle.get(relay.id));
    const t = setTimeout(() => {
      this.idle.delete(relay.id);
      if (relay.viewers.size === 0) this.retire(relay);
    }, this.opts.idleStopMs);
    t.unref();
    this.idle.set(relay.id, t);
  }

  private retire(relay: LiveRelay): void {
    if (this.relays.get(relay.id) === relay) this.relays.delete(relay.id);
    const p = relay.stop().finally(() => this.stopping.delete(p));
    this.stopping.add(p);
  }
}
