/**
 * Publishes alert events as gridgate.alert/v1 JSON on MQTT, by default on
 * `alerts/{district}/{severity}`. The broker is injected as a publish function (the embedded aedes
 * broker or an MQTT client), so this file knows topics and payloads only.
 */
import type { Logger } from 'pino';
import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';

export type QoS = 0 | 1 | 2;
export type PublishFn = (
  topic: string,
  payload: Buffer,
  opts: { qos: QoS; retain: boolean },
) => Promise<void> | void;

export interface MqttAlertPublisherOptions {
  publish: PublishFn;
  logger: Logger;
  /**
   * Topic pattern. Placeholders: {district} {street} {community} {grid} {severity} {type} {rule}
   * {family} {device} {incident}. Default `alerts/{district}/{severity}`.
   */
  topic?: string;
}

export const DEFAULT_ALERT_TOPIC = 'alerts/{district}/{severity}';

/**
 * MQTT 3.1.1 §4.7.1: `+` and `#` are wildcards and `/` separates levels, so none may come from data;
 * [MQTT-4.7.3-2]: a topic must not contain U+0000.
 */
function segment(v: string | undefined): string {
  const s = (v ?? '').replace(/[/+#]/g, '_').replaceAll(String.fromCharCode(0), '_');
  return s === '' ? '_' : s;
}

export function alertTopic(pattern: string, e: AlertEvent): string {
  const values: Record<string, string | undefined> = {
    district: e.location.district,
    street: e.location.street,
    community: e.location.community,
    grid: e.location.grid,
    severity: e.severity,
    type: e.type,
    rule: e.rule.id,
    family: e.device?.family,
    device: e.device?.id,
    incident: e.incidentId,
  };
  return pattern.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in values ? segment(values[key]) : whole,
  );
}

export class MqttAlertPublisher implements AlertSink {
  private readonly log: Logger;
  private failed = 0;

  constructor(private readonly opts: MqttAlertPublisherOptions) {
    this.log = opts.logger.child({ component: 'mqtt-alerts' });
  }

  async emit(event: AlertEvent): Promise<void> {
    if (event.shadow === true) return;
    const topic = alertTopic(this.opts.topic ?? DEFAULT_ALERT_TOPIC, event);
    try {
      // QoS 1: an alert should reach a connected subscriber at least once. Not retained: a retained
      // alert would greet every new subscriber with a possibly stale incident.
      await this.opts.publish(topic, Buffer.from(JSON.stringify(event)), { qos: 1, retain: false });
    } catch (err) {
      this.failed++;
      this.log.error({ err, topic, eventId: event.id }, 'alert publish failed');
    }
  }

  failures(): number {
    return this.failed;
  }
}
