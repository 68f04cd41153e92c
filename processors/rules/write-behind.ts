import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from '../alerts/event.js';
import type { Clock } from '../types.js';
import type { DeviceTable } from './device-table.js';
import type { EngineStats } from './engine-types.js';
import type { IncidentTable } from './incident-table.js';
import type { HeldEvent, IncidentChanges, IncidentStore } from './store.js';

interface Raised {
  held: HeldEvent;
  done: () => void;
  failed: (err: unknown) => void;
}

/**
 * The engine's state goes to the store behind the hot path: what changed since the last flush, in
 * one save. A save that fails (Redis down) loses nothing: its changes go back into the tables, and
 * the next flush writes them as they are then.
 *
 * Alert events follow their state: this is the only way they leave the engine. An event applied
 * before its incident is saved is the one a crash repeats: the restarted engine has no such
 * incident, so the next reading over the line opens a new one (new id, not deduplicated) and fires
 * it again, and the first is never resolved. Saving first alone would only swap that for the
 * opposite (saved as notified, crash before the send: a firing never sent). So each event is saved
 * *with* the state in the same store.save (one Redis MULTI), handed to its sink right after that
 * save is written, and its saved copy removed once the sink has taken it. The sink does not wait
 * for the save's answer: the BullMQ dispatcher writes on the store's connection (gateway/alerting.ts),
 * and Redis applies one connection's commands in order, so an event's job never lands before its
 * state (IncidentStore.save). What a crash leaves saved is sent again at start (`resend`); the
 * event id is deterministic, so BullMQ drops the copy of one that had already been enqueued. A save
 * that fails (Redis unreachable) loses no event: the dispatcher's disk outbox keeps them, and the
 * store keeps the state (RedisIncidentStore's unsaved-state file). `drain` waits until the sink
 * has every event raised so far.
 */
export class StateWriteBehind {
  private lastWindowSnapshot = Number.NEGATIVE_INFINITY;
  private flushing: Promise<void> = Promise.resolve();
  /** The last save failed: logged once until one succeeds. */
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  /** Raised since the last flush: saved by the next one, then handed on. */
  private raised: Raised[] = [];
  private raisedSeq = 0;
  private flushSoon = false;
  /** Handed on, and their sink has not settled yet. */
  private readonly sending = new Set<Promise<void>>();
  /** Ids of saved events their sink took: removed from the store by the next flush. */
  private taken: string[] = [];

  constructor(
    private readonly store: IncidentStore,
    private readonly incidents: IncidentTable,
    private readonly devices: DeviceTable,
    private readonly clock: Clock,
    private readonly stats: EngineStats,
    private readonly opts: {
      sink: AlertSink;
      onRaised?: (event: AlertEvent) => void;
      windowSnapshotMs?: number;
      logger?: Logger;
    },
  ) {}

  /**
   * What the engine delivers dispatch events to: `onRaised` sees each event at once, `sink` gets it
   * once it is saved with its state. Resolves when `sink` has taken it.
   */
  readonly outward: AlertSink = {
    emit: (event) => {
      this.opts.onRaised?.(event);
      return this.hold(event);
    },
  };

  start(everyMs: number): void {
    if (everyMs <= 0) return;
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  /** Save what changed and hand on every event saved with it. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(true);
  }

  /** Hand on, in order, events a crash left saved (from the store's snapshot at start). */
  resend(held: readonly HeldEvent[]): void {
    if (held.length === 0) return;
    this.opts.logger?.info({ events: held.length }, 'sending alert events saved before a crash again');
    for (const h of held) this.handOn({ held: h, done: () => {}, failed: () => {} }, Promise.resolve(true));
  }

  /**
   * Save what was raised and hand it on; once the sink has settled every event handed on (or `ms`
   * passed), remove the saved copies of those it took, so that the next start does not send them again.
   */
  async drain(ms?: number): Promise<void> {
    void this.flush();
    const taken = Promise.allSettled([...this.sending]);
    if (ms === undefined) await taken;
    else {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((r) => {
        timer = setTimeout(r, ms);
      });
      await Promise.race([taken, late]);
      clearTimeout(timer);
    }
    await this.flush();
  }

  /** Persist what changed since the last flush in one batch (window snapshots when due, or `withWindows`). */
  flush(withWindows = false): Promise<void> {
    const now = this.clock.now();
    const due = withWindows || now - this.lastWindowSnapshot >= (this.opts.windowSnapshotMs ?? 30_000);
    const windows = due ? this.devices.windowChanges(this.incidents.activeDevices()) : undefined;
    if (due) this.lastWindowSnapshot = now;
    const windowsChanged = windows !== undefined && (windows.put.length > 0 || windows.remove.length > 0);
    const raised = this.raised;
    const taken = this.taken;
    if (
      !this.incidents.hasChanges &&
      !this.devices.hasSeenChanges &&
      !windowsChanged &&
      raised.length === 0 &&
      taken.length === 0
    )
      return this.flushing;
    this.raised = [];
    this.taken = [];
    const changes: IncidentChanges = {
      ...this.incidents.takeChanges(),
      lastSeen: this.devices.takeSeen(),
      windows,
    };
    if (raised.length > 0 || taken.length > 0)
      changes.held = { put: raised.map((r) => r.held), remove: taken };
    // Not queued behind the save before it: the store applies saves in the order they are called
    // (IncidentStore), so an alert's save does not wait one more round trip behind the periodic one.
    const outcome = this.store.save(changes).then(
      () => this.saved(),
      (err: unknown) => this.unsaved(changes, err),
    );
    this.flushing = Promise.all([this.flushing, outcome]).then(() => {});
    // The save is written: what the sink writes on the store's connection now lands after it.
    for (const r of raised) this.handOn(r, outcome);
    return this.flushing;
  }

  private hold(event: AlertEvent): Promise<void> {
    return new Promise<void>((done, failed) => {
      this.raised.push({ held: { at: this.clock.now(), n: ++this.raisedSeq, event }, done, failed });
      // Events raised by one reading or tick share one save; it runs before the next I/O.
      if (this.flushSoon) return;
      this.flushSoon = true;
      queueMicrotask(() => {
        this.flushSoon = false;
        void this.flush();
      });
    });
  }

  /** To the sink; once it has taken the event, the saved copy goes (if `saved` says it was kept). */
  private handOn(r: Raised, saved: Promise<boolean>): void {
    let sent: Promise<void>;
    try {
      sent = this.opts.sink.emit(r.held.event);
    } catch (err) {
      sent = Promise.reject(err);
    }
    const tracked = sent.then(
      async () => {
        if (await saved) this.taken.push(r.held.event.id);
        r.done();
      },
      // Kept in the store: the next start sends it again.
      (err: unknown) => r.failed(err),
    );
    this.sending.add(tracked);
    void tracked.finally(() => this.sending.delete(tracked));
  }

  private unsaved(changes: IncidentChanges, err: unknown): false {
    this.incidents.requeue(changes.put, changes.remove);
    this.devices.requeueSeen(changes.lastSeen);
    if (changes.windows) {
      this.devices.requeueWindowRemovals(changes.windows.remove);
      if (changes.windows.put.length > 0) this.lastWindowSnapshot = Number.NEGATIVE_INFINITY;
    }
    // Events of this save were handed on regardless; only the removals are still owed.
    if (changes.held) this.taken.push(...changes.held.remove);
    this.stats.saveFailures++;
    if (this.failing) return false;
    this.failing = true;
    this.opts.logger?.error(
      { err },
      'incident state could not be saved; kept in memory and retried each flush',
    );
    return false;
  }

  private saved(): boolean {
    if (!this.failing) return true;
    this.failing = false;
    this.opts.logger?.info('incident state saved again');
    return true;
  }
}
