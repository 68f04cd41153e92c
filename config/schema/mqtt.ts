import { z } from 'zod';
import { hostPort, tls } from './common.js';

/** `mqtt`: The MQTT listener (embedded broker) or the external broker the gateway subscribes to, and how devices log in. */
export const mqttSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^(mqtts?|tcp|ssl|wss?):\/\//, 'must be a broker URL like mqtt://host:1883')
      .optional()
      .describe('external broker; when set, the embedded broker is not started'),
    clientId: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('external mode: stable client id (default gridgate-<hostname>)'),
    username: z.string().optional(),
    password: z.string().optional(),
    protocolVersion: z
      .union([z.literal(4), z.literal(5)])
      .default(4)
      .describe(
        'external mode: 4 = MQTT 3.1.1 (every broker; mosquitto delivers it faster in the benchmark), 5 = MQTT 5 (No Local, session expiry)',
      ),
    auth: z
      .strictObject({
        required: z
          .boolean()
          .default(true)
          .describe(
            'devices connect with username = device id, password = its secret; false only for a local demo',
          ),
        maxFailures: z
          .number()
          .int()
          .min(1)
          .default(5)
          .describe(
            'failed logins from one address with one client id before that pair is locked for lockoutS; the same client id from another address is not affected',
          ),
        lockoutS: z
          .number()
          .int()
          .min(1)
          .default(60)
          .describe(
            'how long a locked (address, client id) pair waits; also the longest backoff of an address',
          ),
        maxFailuresPerAddress: z
          .number()
          .int()
          .min(1)
          .default(20)
          .describe(
            'failed logins from one address over all client ids before the address backs off (1 s, doubling per further failure, up to lockoutS); clients that logged in from it before are not held back',
          ),
        checksPerS: z
          .number()
          .int()
          .min(1)
          .default(2000)
          .describe(
            'secret checks per second over all clients; past it, CONNACK 3 (server unavailable) and devices retry',
          ),
        slowChecksPerS: z
          .number()
          .int()
          .min(1)
          .default(20)
          .describe(
            'scrypt checks per second (mqtt.auth.users, device hashes not yet migrated to the keyed form); past it, CONNACK 3',
          ),
        secretKeyFile: z
          .string()
          .min(1)
          .default('data/mqtt-secret.key')
          .describe(
            'server-side key of device-secret hashes, never stored in Redis; generated (mode 0600) on first start. Back it up with Redis',
          ),
        users: z
          .array(
            z.strictObject({
              username: z.string().min(1),
              scrypt: z.string().min(1).describe('`gridgate tokens hash-secret` output'),
              publish: z.array(z.string()).default([]),
              subscribe: z.array(z.string()).default(['alerts/#']),
            }),
          )
          .default([])
          .describe('non-device clients, e.g. downstream systems subscribing to alerts/#'),
      })
      .prefault({}),
    embedded: hostPort(1883)
      .extend({
        tls,
        readBudgetMs: z
          .number()
          .min(0)
          .max(1000)
          .default(0.5)
          .describe(
            'ms of work one event-loop turn of the broker thread may spend reading connections before the others are polled (fairness under load; it also sets how soon messages reach the pipeline); 0 reads each connection to empty',
          ),
      })
      .prefault({})
      .describe('embedded aedes broker listener'),
    alertTopic: z
      .string()
      .default('alerts/{district}/{severity}')
      .describe("topic alert events are published on; '' turns it off"),
  })
  .prefault({});
