import { describe } from 'vitest';
import { ThreadedEmbeddedBroker } from '../../adapters/mqtt/threaded-broker.js';
import { mqttIngressContract } from './mqtt-ingress.contract.js';

describe('MqttIngress contract: ThreadedEmbeddedBroker', () => {
  mqttIngressContract(async (hooks) => {
    const broker = new ThreadedEmbeddedBroker({
      ...hooks,
      host: '127.0.0.1',
      port: 0,
      maxPayloadBytes: 64 * 1024,
    });
    return { ingress: broker, devicePort: () => broker.port, teardown: async () => {} };
  });
});
