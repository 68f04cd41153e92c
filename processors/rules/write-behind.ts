import type { Logger } from 'pino';
import type { Clock } from '../types.js';
import type { DeviceTable } from './device-table.js';
import type { EngineStats } from './engine-types.js';
import type { IncidentTable } from './incident-table.js';
import type { IncidentChanges, IncidentStore } from './store.js';

/**
 * The engine's state goes to the store behind the hot path: what changed since the last flush, in
 * one save. A save that fails (Redis down) loses nothing: its changes go back into the tables, and
 * the next flush writes them as they are then.
 */
export class StateWriteBehind {
  private lastWindowSnapshot = Number.NEGATIVE_INFINITY;
  private flushing: Promise<void> = Promise.resolve();
  /** The last save failed: logged once until one succeeds. */
  private failing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: IncidentStore,
    private readonly incidents: IncidentTable,
    private readonly devices: DeviceTable,
    private readonly clock: Clock,
    private readonly stats: EngineStats,
    private readonly opts: { windowSnapshotMs?: number; logger?: Logger },
  ) {}

  start(everyMs: number): void {
    if (everyMs <= 0) return;
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(true);
  }

  /** Persist what changed since the last flush in one batch (window snapshots when due, or `withWindows`). */
  flush(withWindows = false): Promise<void> {
    const now = this.clock.now();
    const due = withWindows || now - this.lastWindowSnapshot >= (this.opts.windowSnapshotMs ?? 30_000);
    const windows = due ? this.devices.windowChanges(this.incidents.activeDevices()) : undefined;
    if (due) this.lastWindowSnapshot = now;
    const windowsChanged = windows !== undefined && (windows.put.length > 0 || windows.remove.length > 0);
    if (!this.incidents.hasChanges && !this.devices.hasSeenChanges && !windowsChanged) return this.flushing;
    const changes = { ...this.incidents.takeChanges(), lastSeen: this.devices.takeSeen(), windows };
    this.flushing = this.flushing
      .then(() => this.store.save(changes))
      .then(
        () => this.saved(),
        (err: unknown) => this.unsaved(changes, err),
      );
    return this.flushing;
  }

  private unsaved(changes: IncidentChanges, err: unknown): void {
    this.incidents.requeue(changes.put, changes.remove);
    this.devices.requeueSeen(changes.lastSeen);
    if (changes.windows) {
      this.devices.requeueWindowRemovals(changes.windows.remove);
      if (changes.windows.put.length > 0) this.lastWindowSnapshot = Number.NEGATIVE_INFINITY;
    }
    this.stats.saveFailures++;
    if (this.failing) return;
    this.failing = true;
    this.opts.logger?.error(
      { err },
      'incident state could not be saved; kept in memory and retried each flush',
    );
  }

  private saved(): void {
    if (!this.failing) return;
    this.failing = false;
    this.opts.logger?.info('incident state saved again');
  }
}
