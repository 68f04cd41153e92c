import type { Logger } from 'pino';

/**
 * Runs the gateway's callbacks (onMessage, onConnectivity, ...) for an MQTT edge: one that throws
 * is counted in `stats.callbackErrors` and logged, and the edge goes on with the next message.
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
