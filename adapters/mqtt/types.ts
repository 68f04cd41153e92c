import type { Logger } from 'pino';
import type { InboundMessage, MessageKind } from '../../processors/types.js';

/** What a topic means to the gateway: whose it is and what kind of message travels on it. */
export interface RoutedTopic {
  deviceId: string;
  kind: MessageKind;
}

/**
 * Injected by the gateway (from the device models' topic patterns); undefined = not a device topic.
 * A pure function of the topic until the models change: ingresses remember its answers per topic
 * and forget them on MqttIngress.forgetRoutes.
 */
export type TopicRouter = (topic: string) => RoutedTopic | undefined;

/** Topics whose routing is remembered (device topics: a few per device); past this it starts over. */
const MAX_ROUTES = 200_000;

/** The router's answer per topic, remembered (topics that route nowhere too) until `clear()`. */
export class RouteMemo {
  private readonly routes = new Map<string, RoutedTopic | null>();

  constructor(private readonly route: TopicRouter) {}

  get(topic: string): RoutedTopic | undefined {
    let r = this.routes.get(topic);
    if (r === undefined) {
      r = this.route(topic) ?? null;
      if (this.routes.size >= MAX_ROUTES) this.routes.clear();
      this.routes.set(topic, r);
    }
    return r ?? undefined;
  }

  clear(): void {
    this.routes.clear();
  }
}

/** A routed MQTT message as the pipeline takes it (every MQTT edge builds it here, the same way). */
export function inboundMqtt(
  routed: RoutedTopic,
  topic: string,
  payload: Buffer,
  receivedAt: number,
  clientId?: string,
): InboundMessage {
  // One literal, one shape for every message (a spread would allocate on the hot path).
  return {
    transport: 'mqtt',
    kind: routed.kind,
    deviceId: routed.deviceId,
    topic,
    payload,
    receivedAt,
    clientId,
  };
}

export interface PublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

/**
 * The narrowest interface the gateway uses of an MQTT edge, whether it is the embedded broker or a
 * client of an external one. Both feed `onMessage` (see IngressHooks) with the same InboundMessage.
 */
export interface MqttIngress {
  /** Resolves when the ingress accepts traffic (listening / connected). */
  start(): Promise<void>;
  /** Closes connections and removes what start() added; safe to call twice. */
  stop(): Promise<void>;
  /** Publish as the gateway (alerts, commands). Never fed back into onMessage. */
  publish(topic: string, payload: Buffer | string, opts?: PublishOptions): Promise<void>;
  /**
   * The router's answers changed (a models-folder reload changed topic patterns): forget every
   * route and topic permission remembered per topic, so the next message on any topic is routed
   * and checked afresh. `filters` is the full new list of subscription filters: a client of an
   * external broker subscribes to the new ones and unsubscribes from those no longer in it
   * (omitted: subscriptions stay). Resolves once the broker has answered (or, not connected, at
   * once: the next connect subscribes); rejects when it refused a new filter.
   */
  forgetRoutes(filters?: readonly string[]): Promise<void>;
}

/** Callbacks shared by every MqttIngress. They must not throw; if one does it is logged and counted. */
export interface IngressHooks {
  route: TopicRouter;
  onMessage(msg: InboundMessage): void;
  /** A device publish on a topic that `route` does not know. */
  onUnrouted?(topic: string, clientId: string | undefined, size: number): void;
  logger: Logger;
}

/**
 * Runs an IngressHooks callback for an MQTT edge: one that throws is counted in
 * `stats.callbackErrors` and logged, and the edge goes on with the next message.
 */
export function callbackGuard(stats: { callbackErrors: number }, logger: Logger): (fn: () => void) => void {
  return (fn) => {
    try {
      fn();
    } catch (err) {
      stats.callbackErrors++;
      logger.error({ err }, 'mqtt ingress callback threw');
    }
  };
}
