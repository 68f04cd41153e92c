import type { MqttClient } from 'mqtt';

/**
 * Resolves when the client connects, errors, or `timeoutMs` passes. A device that cannot connect is
 * counted and retried by mqtt.js; the fleet does not wait for it forever.
 */
export function waitConnect(client: MqttClient, timeoutMs = 10_000): Promise<boolean> {
  if (client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(t);
      client.off('connect', onConnect);
      client.off('error', onError);
      resolve(ok);
    };
    const onConnect = () => finish(true);
    const onError = () => finish(false);
    const t = setTimeout(() => finish(client.connected), timeoutMs);
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}
