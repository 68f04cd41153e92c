import type { DeviceModel } from '../../processors/devices/define.js';
import { topicsFor } from '../../processors/topics.js';

/**
 * What one device may publish and subscribe to on the embedded broker: its own
 * telemetry/event/status topics (from its model), its HJ 212 DTU topic when it has an MN, and
 * nothing to subscribe to but its own command topic.
 */

const DEVICE_ID = '{deviceId}';

/**
 * The one topic a device may subscribe to: its model's telemetry pattern with the last level
 * replaced by `command` (`devices/{id}/telemetry` -> `devices/{id}/command`,
 * `facepass/{id}/heartbeat` -> `facepass/{id}/command`); `devices/{id}/command` when the device id
 * is the last level of the pattern.
 */
export function commandTopicFor(model: DeviceModel, deviceId: string): string {
  const levels = model.topics.telemetry.split('/');
  if (levels.at(-1) === DEVICE_ID) return `devices/${deviceId}/command`;
  levels[levels.length - 1] = 'command';
  return levels.join('/').replace(DEVICE_ID, deviceId);
}

export interface DeviceAcl {
  /** The model object and HJ 212 MN the ACL was built for; rebuilt when either changes. */
  readonly model: DeviceModel;
  readonly mn: string | undefined;
  readonly publish: ReadonlySet<string>;
  /** Exact topics the device may subscribe to: its command topic, and for an HJ 212 DTU the 9014 response topic. */
  readonly subscribe: ReadonlySet<string>;
}

/** `hj212Topic`: the gateway's HJ 212-over-MQTT pattern with `{mn}` (config hj212.mqttTopic). */
export function deviceAcl(
  model: DeviceModel,
  deviceId: string,
  mn: string | undefined,
  hj212Topic: string | undefined,
): DeviceAcl {
  const publish = new Set(Object.values(topicsFor(model, deviceId)));
  const subscribe = new Set([commandTopicFor(model, deviceId)]);
  if (mn !== undefined && hj212Topic) {
    const topic = hj212Topic.replace('{mn}', mn);
    publish.add(topic);
    subscribe.add(`${topic}/response`);
  }
  return { model, mn, publish, subscribe };
}
