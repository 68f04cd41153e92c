/**
 * Baseline of scenario 2: a bare mqtt.js subscriber on the external broker (`#` at QoS 1: every
 * topic the load publishes on, as the gateway's subscriptions cover every model's topics) doing
 * what BaselineSink does. (Until 2026-11-28 it subscribed to devices/+/+ only and so missed the
 * 16.5% of the fleet on their own topic tree — FacePass FP3 terminals — which made the baseline
 * look smaller than it is.)
 *
 *   node dist/bench/baseline-mqtt.js --url mqtt://127.0.0.1:1883 --http-port H --tsdb URL
 */
import { connectAsync } from 'mqtt';
import { argMap, BaselineSink } from './lib/baseline-sink.js';

const args = argMap(process.argv.slice(2));
const sink = new BaselineSink(args.get('tsdb') ?? 'http://127.0.0.1:8428');
const client = await connectAsync(args.get('url') ?? 'mqtt://127.0.0.1:1883', {
  clientId: `bench-baseline-${process.pid}`,
  clean: true,
});
client.on('message', (topic, payload) => sink.onMessage(topic, payload));
await client.subscribeAsync('#', { qos: 1 });
await sink.serve(Number(args.get('http-port')));
process.once('SIGTERM', () => {
  sink.close();
  client.end(false, {}, () => process.exit(0));
});
