import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { alertTopic, MqttAlertPublisher } from '../../adapters/mqtt-alerts/publisher.js';
import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';
import { FanoutSink } from '../../processors/alerts/fanout.js';
import { cleanups, sampleEvent, silent, waitFor } from './support.js';

async function broker(): Promise<{ aedes: Aedes; url: string }> {
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  cleanups.push(async () => {
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { aedes, url: `mqtt://127.0.0.1:${port}` };
}

describe('MQTT alert publisher', () => {
  it('publishes gridgate.alert/v1 JSON on alerts/{district}/{severity} through the injected publish', async () => {
    const { aedes, url } = await broker();
    const sub = await mqtt.connectAsync(url);
    cleanups.push(() => sub.endAsync());
    const got: { topic: string; body: AlertEvent; retain: boolean }[] = [];
    sub.on('message', (topic, payload, packet) =>
      got.push({ topic, body: JSON.parse(payload.toString()), retain: packet.retain }),
    );
    await sub.subscribeAsync('alerts/#', { qos: 1 });

    const publisher = new MqttAlertPublisher({
      logger: silent,
      publish: (topic, payload, { qos, retain }) =>
        new Promise<void>((resolve, reject) =>
          aedes.publish({ cmd: 'publish', topic, payload, qos, retain, dup: false }, (err) =>
            err ? reject(err) : resolve(),
          ),
        ),
    });
    const e = sampleEvent({ severity: 'red' });
    await publisher.emit(e);
    await publisher.emit(sampleEvent({ shadow: true }));
    await waitFor(() => (got.length >= 1 ? true : undefined));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ topic: 'alerts/浦东新区/red', retain: false });
    expect(got[0]?.body).toEqual(e);
  });

  it('fills a custom pattern and keeps wildcards and separators out of topic levels', () => {
    const e = sampleEvent({ location: { district: 'a/b+#', street: '', community: 'c', grid: 'g' } });
    expect(alertTopic('city/{district}/{street}/{family}/{type}/{unknown}', e)).toBe(
      'city/a_b__/_/flood/alert.firing/{unknown}',
    );
  });

  it('counts a failing publish instead of throwing', async () => {
    const publisher = new MqttAlertPublisher({
      logger: silent,
      publish: () => Promise.reject(new Error('broker gone')),
    });
    await expect(publisher.emit(sampleEvent())).resolves.toBeUndefined();
    expect(publisher.failures()).toBe(1);
  });
});

describe('FanoutSink', () => {
  it('delivers to every sink even when one throws, and counts the failure', async () => {
    const seen: string[] = [];
    const ok: AlertSink = {
      emit: async (e) => {
        seen.push(e.id);
      },
    };
    const broken: AlertSink = {
      emit: () => {
        throw new Error('boom');
      },
    };
    const fan = new FanoutSink(
      [
        { name: 'broken', sink: broken },
        { name: 'ok', sink: ok },
      ],
      silent,
    );
    const e = sampleEvent();
    await expect(fan.emit(e)).resolves.toBeUndefined();
    expect(seen).toEqual([e.id]);
    expect(fan.failureCounts()).toEqual({ broken: 1 });
  });
});
