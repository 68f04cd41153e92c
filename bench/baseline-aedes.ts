/**
 * Baseline of scenario 1: a bare aedes broker in one process whose only subscriber (the broker's
 * 'publish' event) does what BaselineSink does. No auth, no routing, no registry, no decoding.
 *
 *   node dist/bench/baseline-aedes.js --mqtt-port P --http-port H --tsdb http://127.0.0.1:8428
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { argMap, BaselineSink } from './lib/baseline-sink.js';

const args = argMap(process.argv.slice(2));
const sink = new BaselineSink(args.get('tsdb') ?? 'http://127.0.0.1:8428');
const aedes = await Aedes.createBroker();
aedes.on('publish', (packet, client) => {
  if (client) sink.onMessage(packet.topic, packet.payload as Buffer);
});
const server = createServer((socket) => aedes.handle(socket));
await new Promise<void>((resolve) => server.listen(Number(args.get('mqtt-port')), '127.0.0.1', resolve));
await sink.serve(Number(args.get('http-port')));
process.once('SIGTERM', () => {
  sink.close();
  server.close();
  aedes.close(() => process.exit(0));
});
