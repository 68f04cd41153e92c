/**
 * Wires supervision to the event stream: an `alert.firing` whose rule has an `ackWithin` starts the
 * ack deadline, an `alert.resolved` cancels it. Put it in the same FanoutSink as the dispatcher.
 */
import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';
import type { Supervision } from './supervision.js';

export class SupervisionSink implements AlertSink {
  private readonly log: Logger;

  constructor(
    private readonly supervision: Pick<Supervision, 'scheduleAckDeadline' | 'cancel'>,
    /** The rule's ackWithin in ms for this event, or undefined when the rule has none. */
    private readonly ackWithinFor: (event: AlertEvent) => number | undefined,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'supervision-sink' });
  }

  async emit(event: AlertEvent): Promise<void> {
    if (event.shadow === true) return;
    try {
      if (event.type === 'alert.firing') {
        const ms = this.ackWithinFor(event);
        if (ms !== undefined) await this.supervision.scheduleAckDeadline(event, ms);
      } else if (event.type === 'alert.resolved') {
        await this.supervision.cancel(event.incidentId);
      }
    } catch (err) {
      // A missed deadline is logged loudly; it must not stop the alert itself from going out.
      this.log.error({ err, incidentId: event.incidentId, type: event.type }, 'ack deadline update failed');
    }
  }
}
