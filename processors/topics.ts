import type { DeviceModel } from './devices/define.js';
import { GridgateError } from './errors.js';
import type { MessageKind } from './types.js';

/**
 * Topic routing for MQTT ingest: every model's topic patterns (`devices/{deviceId}/telemetry`),
 * compiled once into literal levels so that matching a message is one split and a few string
 * compares, with no regex on the hot path.
 */

export interface TopicMatch {
  deviceId: string;
  kind: MessageKind;
}

const DEVICE_ID = '{deviceId}';
export const MAX_DEVICE_ID_LENGTH = 64;

interface CompiledPattern {
  readonly pattern: string;
  readonly kind: MessageKind;
  /** The literal levels; the device-id level holds an empty string and is skipped. */
  readonly levels: readonly string[];
  readonly idIndex: number;
  /** The literal text before and after the device-id level, slashes included (`devices/`, `/telemetry`). */
  readonly prefix: string;
  readonly suffix: string;
}

export class TopicRouter {
  /** In the order models declared them (the first match wins). */
  readonly #patterns: CompiledPattern[] = [];

  constructor(models: readonly DeviceModel[]) {
    const seen = new Map<string, MessageKind>();
    for (const model of models) {
      for (const [kind, pattern] of Object.entries(model.topics) as [MessageKind, string][]) {
        const prior = seen.get(pattern);
        if (prior === kind) continue;
        if (prior !== undefined) {
          throw new GridgateError(
            'GG_ERR_MODEL_INVALID',
            `topic pattern '${pattern}' is used for two kinds`,
            [`model '${model.id}' uses it for ${kind}, an earlier model for ${prior}`],
          );
        }
        seen.set(pattern, kind);
        const p = compilePattern(pattern, kind, model.id);
        this.#patterns.push(p);
      }
    }
  }

  /**
   * The device and message kind a topic addresses, or undefined for a topic no model uses. A
   * pattern matches when the topic starts with its literal prefix, ends with its literal suffix and
   * the rest is one level (no `/`): the same as comparing level by level, without splitting the
   * topic into an array per message. The first structural match in declaration order decides.
   */
  match(topic: string): TopicMatch | undefined {
    const patterns = this.#patterns;
    const len = topic.length;
    for (let c = 0; c < patterns.length; c++) {
      const p = patterns[c] as CompiledPattern;
      const end = len - p.suffix.length;
      if (end < p.prefix.length || !topic.startsWith(p.prefix) || !topic.endsWith(p.suffix)) continue;
      const slash = topic.indexOf('/', p.prefix.length);
      if (slash !== -1 && slash < end) continue;
      const deviceId = topic.slice(p.prefix.length, end);
      return isValidDeviceId(deviceId) ? { deviceId, kind: p.kind } : undefined;
    }
    return undefined;
  }

  /**
   * MQTT subscription filters covering every pattern, for external-broker mode: the device level
   * becomes `+`, and patterns that differ only in their last level share one `+` there
   * (`devices/+/telemetry`, `devices/+/event`, `devices/+/status` -> `devices/+/+`).
   */
  subscriptionFilters(): string[] {
    const byPrefix = new Map<string, Set<string>>();
    for (const p of this.#patterns) {
      const levels = p.levels.map((l, i) => (i === p.idIndex ? '+' : l));
      const last = levels.pop() as string;
      const prefix = levels.join('/');
      const set = byPrefix.get(prefix) ?? new Set<string>();
      set.add(last);
      byPrefix.set(prefix, set);
    }
    const filters: string[] = [];
    for (const [prefix, lasts] of byPrefix) {
      const tail = lasts.size > 1 ? '+' : ([...lasts][0] as string);
      filters.push(prefix === '' ? tail : `${prefix}/${tail}`);
    }
    return filters;
  }

  patterns(): readonly string[] {
    return this.#patterns.map((p) => p.pattern);
  }
}

/** The concrete topics a device of `model` publishes on (the registry's broker ACL uses them). */
export function topicsFor(model: DeviceModel, deviceId: string): Record<MessageKind, string> {
  if (!isValidDeviceId(deviceId)) {
    throw new GridgateError('GG_ERR_BAD_REQUEST', `device id '${deviceId}' is not a valid topic level`, [
      `use 1-${MAX_DEVICE_ID_LENGTH} characters from A-Z a-z 0-9 _ . : -`,
    ]);
  }
  return {
    telemetry: model.topics.telemetry.replace(DEVICE_ID, deviceId),
    event: model.topics.event.replace(DEVICE_ID, deviceId),
    status: model.topics.status.replace(DEVICE_ID, deviceId),
  };
}

/** 1-64 characters of [A-Za-z0-9_.:-]: safe as an MQTT topic level, a tag value and a Redis key part. */
export function isValidDeviceId(id: string): boolean {
  if (id.length === 0 || id.length > MAX_DEVICE_ID_LENGTH) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x41 && c <= 0x5a) || // A-Z
      (c >= 0x30 && c <= 0x3a) || // 0-9 and ':'
      c === 0x5f || // _
      c === 0x2e || // .
      c === 0x2d; // -
    if (!ok) return false;
  }
  return true;
}

function compilePattern(pattern: string, kind: MessageKind, modelId: string): CompiledPattern {
  const levels = pattern.split('/');
  const idIndex = levels.indexOf(DEVICE_ID);
  // [MQTT-4.7.1-1] wildcards never appear in a publish topic; an empty level would match `a//b` only.
  const bad = levels.some((l, i) => i !== idIndex && (l === '' || l.includes('{') || /[+#]/.test(l)));
  if (idIndex < 0 || bad) {
    throw new GridgateError(
      'GG_ERR_MODEL_INVALID',
      `model '${modelId}': topic pattern '${pattern}' is invalid`,
      ['use non-empty literal levels and exactly one {deviceId} level'],
    );
  }
  const before = levels.slice(0, idIndex).join('/');
  const after = levels.slice(idIndex + 1).join('/');
  return {
    pattern,
    kind,
    levels: levels.map((l, i) => (i === idIndex ? '' : l)),
    idIndex,
    prefix: idIndex === 0 ? '' : `${before}/`,
    suffix: idIndex === levels.length - 1 ? '' : `/${after}`,
  };
}
