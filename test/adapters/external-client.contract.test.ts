import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { ExternalBrokerClient } from '../../adapters/mqtt/external-client.js';
import { startMosquitto } from '../../scripts/services.js';
import { mqttIngressContract } from './mqtt-ingress.contract.js';

describe.each([{ version: 4 }, { version: 5 }] as const)(
  'MqttIngress contract: ExternalBrokerClient (MQTT v$version) against mosquitto',
  ({ version }) => {
    mqttIngressContract(async (hooks) => {
      const dir = await mkdtemp(join(tmpdir(), 'gg-mosq-'));
      const mosquitto = await startMosquitto(dir);
      const client = new ExternalBrokerClient({
        ...hooks,
        url: mosquitto.url,
        topics: ['devices/#'],
        clientId: `gridgate-test-${process.pid}`,
        protocolVersion: version,
        connectTimeoutMs: 5000,
      });
      return {
        ingress: client,
        devicePort: () => mosquitto.port,
        teardown: async () => {
          await mosquitto.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    });
  },
);
