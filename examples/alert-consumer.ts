/**
 * Example downstream consumer: prints every alert event on one line and, with --ack, acknowledges
 * each firing incident through the gateway's HTTP API (stopping its 督办 escalation).
 *
 *   npx tsx examples/alert-consumer.ts --redis redis://127.0.0.1:6379 --queue gridgate-alerts \
 *     [--ack --url http://127.0.0.1:8080 --token $GRIDGATE_TOKEN --by 值班员]
 *
 * Outside this repository, import from 'gridgate/consumer' instead of the relative path.
 */
import { parseArgs } from 'node:util';
import { postAck } from '../gateway/cli/incidents.js';
import { createAlertConsumer } from '../gateway/consumer.js';
import type { AlertEvent } from '../processors/alerts/event.js';
import { formatAlertLine } from '../processors/alerts/format.js';

const { values } = parseArgs({
  options: {
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    queue: { type: 'string', default: 'gridgate-alerts' },
    prefix: { type: 'string', default: 'bull' },
    ack: { type: 'boolean', default: false },
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    token: { type: 'string', default: process.env.GRIDGATE_TOKEN },
    by: { type: 'string', default: 'example-consumer' },
  },
});

/** The event itself was delivered: a failed ack is reported, not retried by failing the job (which would print it again). */
async function ack(event: AlertEvent): Promise<void> {
  try {
    const res = await postAck({
      url: values.url,
      id: event.incidentId,
      by: values.by,
      note: 'acknowledged by examples/alert-consumer.ts',
      ...(values.token ? { token: values.token } : {}),
    });
    if (res.status >= 300)
      console.error(`  ack ${event.incidentId}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    else console.log(`  acked ${event.incidentId}`);
  } catch (err) {
    console.error(
      `  ack ${event.incidentId}: gateway unreachable at ${values.url}: ${(err as Error).message}`,
    );
  }
}

const consumer = createAlertConsumer({
  connection: values.redis,
  queue: values.queue,
  prefix: values.prefix,
  handler: async (event) => {
    console.log(formatAlertLine(event, { baseUrl: values.url }));
    if (values.ack && event.type === 'alert.firing') await ack(event);
  },
});
consumer.worker.on('failed', (job, err) => console.error(`job ${job?.id} failed: ${err.message}`));
console.error(
  `consuming ${values.queue} on ${values.redis}${values.ack ? ' (acking firing incidents)' : ''}; Ctrl-C to stop`,
);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void consumer.close().then(() => process.exit(0));
  });
}
