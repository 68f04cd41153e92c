/**
 * Worker-thread entry of ThreadedMqttConnection: the mqtt.js client of the external broker — socket,
 * packet parsing, keepalive, acks — on a core of its own. Received messages go to the gateway's
 * thread through an EdgeStream (edge-stream.ts: batches, back-pressure, the intake log); what the
 * intake log holds past its checkpoint is handed over before the connection is made.
 *
 * Back-pressure holds mqtt.js's per-message callback (its handleMessage hook), so mqtt.js stops
 * parsing, the socket stops being read and TCP slows the broker down.
 */
import mqtt, { type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { toWire } from '../threads/endpoint.js';
import { serveThread } from '../threads/serve.js';
import { EdgeStream } from './edge-stream.js';
import type { IoAsks, IoCalls, IoThreadData } from './threaded-connection.js';

/**
 * A batch this big waiting to be handed over, without credit, stops the thread reading the socket.
 * Larger than the embedded broker's mark: every device comes over this one connection, so there is
 * no quiet device to serve first, and the mark only bounds what a lagging pipeline holds in memory.
 */
const HIGH_WATER_BYTES = 1024 * 1024;

const thread = serveThread<IoAsks, IoCalls, IoThreadData>();
const { endpoint } = thread;
const { url, options, intake } = thread.data;

/** mqtt.js's callback for the last message, held for back-pressure. */
let held: ((err?: Error) => void) | undefined;
const stream = new EdgeStream(endpoint, intake, thread.logger, HIGH_WATER_BYTES, () => {
  const go = held;
  held = undefined;
  go?.();
});
let client: MqttClient | undefined;

function connect(): MqttClient {
  // mqtt.js calls `log` several times per packet; it must be a no-op function (not cloneable, so set here).
  const c = mqtt.connect(url, { ...options, log: () => {} });
  c.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
    // While ending, not taken in: handleMessage does not acknowledge it either, so the broker keeps
    // it for the next session (taking it in as well would store it twice).
    if (!stream.ending) stream.take(topic, payload, packet.qos, c.stream);
  });
  // Called by mqtt.js after each 'message', before the next packet is parsed (and, for QoS 1, before
  // the PUBACK): holding the callback pauses the client.
  c.handleMessage = (_packet: IPublishPacket, callback: (err?: Error) => void) => {
    // While ending, never: a QoS 1 message not acknowledged stays with the broker for the next session.
    if (stream.ending) return;
    if (stream.full) held = callback;
    else callback();
  };
  c.on('connect', (connack: IConnackPacket) =>
    endpoint.event('connect', { sessionPresent: connack.sessionPresent }),
  );
  c.on('close', () => {
    // A held callback belongs to the connection that closed; acking it on the next could ack another message.
    held = undefined;
    endpoint.event('close', undefined);
  });
  c.on('error', (err) => endpoint.event('error', toWire(err)));
  return c;
}

function made(): MqttClient {
  if (!client) throw new Error('the connection to the broker is not made yet');
  return client;
}

endpoint.handle('subscribe', async (filters) => {
  await made().subscribeAsync(filters);
});
endpoint.handle('unsubscribe', async (filters) => {
  await made().unsubscribeAsync(filters);
});
endpoint.handle('publish', async (p) => {
  await made().publishAsync(p.topic, Buffer.from(p.payload), { qos: p.qos, retain: p.retain });
});
endpoint.onItem = (name, v) => {
  if (name === 'reconnect') client?.reconnect();
  else if (name === 'settled') stream.settled(v as number);
};
endpoint.handle(
  'stop',
  (force) =>
    new Promise<void>((resolve) => {
      // Everything taken in goes to the gateway's thread before the reply, so it is acknowledged:
      // the turn's PUBACKs, and a held one (its message is in the batch), or the broker would
      // deliver it again next session.
      stream.end();
      const done = () => {
        stream.close();
        resolve();
        setImmediate(thread.close);
      };
      if (client) client.end(force ?? false, {}, done);
      else done();
    }),
);
thread.ready();
void stream.replay().then(() => {
  if (!stream.ending) client = connect();
});
