import { type AlertEvent, type AlertSink, SEVERITIES } from '../alerts/event.js';
import type { Device } from '../types.js';
import { buildEvent } from './alert-event.js';
import type { CompiledRule } from './compile.js';
import type { EngineStats, RuleEngineOptions } from './engine-types.js';
import { type Incident, isOpen, type Transition } from './incident.js';

/**
 * Who hears about an incident now: the command centre (dispatch), the installer view (a device in
 * `commissioning`), or nobody (a device in maintenance or retired).
 */
type Audience = 'dispatch' | 'installer' | 'none';

function audienceOf(device: Device | undefined): Audience {
  const state = device?.state;
  if (state === 'commissioning') return 'installer';
  if (state === 'maintenance' || state === 'retired') return 'none';
  return 'dispatch';
}

function rank(s: Incident['severity']): number {
  return SEVERITIES.indexOf(s);
}

/**
 * Turns incident transitions into events, per audience, so that each audience's stream for one
 * incident is well-formed: alert.firing first, then escalations and reminders, then at most one
 * alert.resolved. The rules (Alertmanager's silence semantics, applied per audience):
 *
 * - A silence (or maintenance) suppresses notifications of matching incidents while active: new
 *   firings, escalations, reminders. It never suppresses alert.resolved of an incident an audience
 *   already saw fire, so downstream systems can close it. An incident that starts and ends inside a
 *   silence is never dispatched at all.
 * - The first event an audience gets for an incident is alert.firing: a transition to an audience
 *   that has not seen the incident fire becomes alert.firing, and alert.resolved is sent only to
 *   audiences that saw it fire (a device that went red while commissioning and was then confirmed
 *   never sends the command centre a resolve it never saw fire).
 * - `catchUp` (each tick) tells an audience about an open incident it should now hear of: a silence
 *   ended, or the device left commissioning; and an escalation a silence held back.
 */
export class Delivery {
  private readonly shadow: AlertEvent[] = [];

  constructor(
    private readonly opts: RuleEngineOptions,
    private readonly stats: EngineStats,
    /** Mark an incident changed for the next flush. */
    private readonly touch: (inc: Incident) => void,
  ) {}

  get shadowEvents(): readonly AlertEvent[] {
    return this.shadow;
  }

  private silenced(r: CompiledRule, inc: Incident, device: Device | undefined, now: number): boolean {
    return this.opts.silences?.match(r.id, device, inc.location, now) !== undefined;
  }

  deliver(r: CompiledRule, inc: Incident, tr: Transition, device: Device | undefined, now: number): void {
    if (inc.shadow) {
      this.toShadow(r, inc, tr, device, now);
      return;
    }
    if (tr.type === 'alert.resolved') {
      // Everyone who saw it fire hears it resolve, silence or not.
      const to: AlertSink[] = [];
      if (inc.notified) to.push(this.opts.sink);
      if (inc.installerNotified && this.opts.installerSink) to.push(this.opts.installerSink);
      if (to.length) this.send(r, inc, tr, device, now, to);
      return;
    }
    const audience = audienceOf(device);
    if (audience === 'none') return;
    if (this.silenced(r, inc, device, now)) {
      this.stats.silenced++;
      return;
    }
    const sink = audience === 'dispatch' ? this.opts.sink : this.opts.installerSink;
    if (!sink) return;
    const seen = audience === 'dispatch' ? inc.notified : inc.installerNotified === true;
    const t: Transition = seen
      ? this.sinceTold(inc, tr, audience)
      : { type: 'alert.firing', severity: inc.severity };
    this.send(r, inc, t, device, now, [sink]);
    if (audience === 'dispatch') {
      inc.notified = true;
      inc.notifiedSeverity = inc.severity;
    } else {
      inc.installerNotified = true;
    }
  }

  /**
   * Dispatch may have been told a lower severity than the incident's previous one (a silence held
   * an escalation back): an escalation says what it rose from as dispatch knows it, and a reminder
   * at a severity dispatch never heard is an escalation.
   */
  private sinceTold(inc: Incident, tr: Transition, audience: Audience): Transition {
    const told = inc.notifiedSeverity;
    if (audience !== 'dispatch' || told === undefined || rank(tr.severity) <= rank(told)) return tr;
    if (tr.type === 'alert.escalated') return { ...tr, previousSeverity: told };
    if (tr.type === 'alert.reminder')
      return {
        type: 'alert.escalated',
        severity: tr.severity,
        previousSeverity: told,
        reason: 'severity_rose',
      };
    return tr;
  }

  /** For an open incident on each tick: tell the current audience what it has not heard yet. */
  catchUp(r: CompiledRule, inc: Incident, device: Device | undefined, now: number): void {
    if (!isOpen(inc) || inc.shadow) return;
    const audience = audienceOf(device);
    if (audience === 'none') return;
    const seen = audience === 'dispatch' ? inc.notified : inc.installerNotified === true;
    if (!seen) {
      if (audience === 'installer' && !this.opts.installerSink) return;
      if (this.silenced(r, inc, device, now)) return;
      this.deliver(r, inc, { type: 'alert.firing', severity: inc.severity }, device, now);
      return;
    }
    // An escalation held back by a silence: the command centre learns the current severity.
    const told = inc.notifiedSeverity ?? inc.severity;
    if (audience !== 'dispatch' || rank(inc.severity) <= rank(told)) return;
    if (this.silenced(r, inc, device, now)) return;
    const tr: Transition = {
      type: 'alert.escalated',
      severity: inc.severity,
      previousSeverity: told,
      reason: 'severity_rose',
    };
    this.deliver(r, inc, tr, device, now);
  }

  private send(
    r: CompiledRule,
    inc: Incident,
    t: Transition,
    device: Device | undefined,
    now: number,
    sinks: AlertSink[],
  ): void {
    const event = buildEvent(r, inc, t, device, now);
    inc.seq++;
    this.touch(inc);
    for (const sink of sinks) {
      this.stats.emitted++;
      sink.emit(event).catch((err: unknown) => {
        this.stats.emitFailures++;
        this.opts.logger?.error({ err, event: event.id, rule: r.id }, 'alert event could not be emitted');
      });
    }
  }

  /** Shadow rules: recorded for inspection, never dispatched, never silenced. */
  private toShadow(r: CompiledRule, inc: Incident, tr: Transition, device: Device | undefined, now: number) {
    if (tr.type === 'alert.resolved' && !inc.notified) return;
    const t: Transition =
      tr.type !== 'alert.resolved' && !inc.notified ? { type: 'alert.firing', severity: inc.severity } : tr;
    const event = buildEvent(r, inc, t, device, now);
    inc.seq++;
    inc.notified = true;
    this.touch(inc);
    this.shadow.push(event);
    if (this.shadow.length > (this.opts.shadowLimit ?? 1000)) this.shadow.shift();
    this.opts.onShadow?.(event);
  }
}
