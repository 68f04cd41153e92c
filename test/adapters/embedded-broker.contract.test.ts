import { describe } from 'vitest';
import { EmbeddedBroker } from '../../adapters/mqtt/embedded-broker.js';
import { mqttIngressContract } from './mqtt-ingress.contract.js';

describe('MqttIngress contract: EmbeddedBroker', () => {
  mqttIngressContract(async (hooks) => {
    const broker = new EmbeddedBroker({ ...hooks, host: '127.0.0.1', port: 0, maxPayloadBytes: 64 * 1024 });
    return { ingress: broker, devicePort: () => broker.port, teardown: async () => {} };
  });
});
