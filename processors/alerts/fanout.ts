/**
 * One event to several sinks (BullMQ dispatcher, MQTT publisher, supervision). Each sink is isolated:
 * one that throws or rejects is logged and counted, and the others still get the event.
 */
import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from './event.js';

export interface NamedSink {
  name: string;
  sink: AlertSink;
}

export class FanoutSink implements AlertSink {
  private readonly log: Logger;
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly sinks: readonly NamedSink[],
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'alert-fanout' });
  }

  async emit(event: AlertEvent): Promise<void> {
    await Promise.all(
      this.sinks.map(async ({ name, sink }) => {
        try {
          await sink.emit(event);
        } catch (err) {
          this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
          this.log.error({ err, sink: name, eventId: event.id }, 'alert sink failed');
        }
      }),
    );
  }

  /** Failures per sink name since start. */
  failureCounts(): Record<string, number> {
    return Object.fromEntries(this.failures);
  }
}
