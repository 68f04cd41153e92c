import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { EmbeddedBroker } from '../adapters/mqtt/embedded-broker.js';
import { ThreadedEmbeddedBroker } from '../adapters/mqtt/threaded-broker.js';
import type { Gateway } from './app.js';

/**
 * Prometheus metrics. Components keep plain counters on their hot paths; this reads them at
 * scrape time (collect callbacks), so exporting costs nothing per message.
 */
export function gatewayMetrics(gw: Gateway): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gridgate_process_' });
  new Counter({
    name: 'gridgate_messages_received_total',
    help: 'Messages handed to the ingest pipeline',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gw.pipeline?.counters.received ?? 0);
    },
  });
  new Counter({
    name: 'gridgate_readings_total',
    help: 'Canonical readings delivered to the sinks',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gw.pipeline?.counters.readings ?? 0);
    },
  });
  new Counter({
    name: 'gridgate_rejects_total',
    help: 'Rejected messages or fields, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(gw.deadLetters.counts())) if (n > 0) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'gridgate_tsdb_lines_written_total',
    help: 'Line-protocol lines accepted by the time-series database',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gw.writer?.stats.linesWritten ?? 0);
    },
  });
  new Counter({
    name: 'gridgate_tsdb_write_failures_total',
    help: 'Failed write attempts to the time-series database (each retry counts)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gw.writer?.stats.batchesFailed ?? 0);
    },
  });
  new Gauge({
    name: 'gridgate_devices_registered',
    help: 'Devices in the registry',
    registers: [registry],
    collect() {
      this.set(gw.registry?.size ?? 0);
    },
  });
  new Gauge({
    name: 'gridgate_devices_seen',
    help: 'Registered devices that sent at least one reading since start',
    registers: [registry],
    collect() {
      this.set(gw.latest.size);
    },
  });
  const labelled = (
    name: string,
    help: string,
    label: string,
    read: () => Record<string, number> | undefined,
  ) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [k, n] of Object.entries(read() ?? {})) if (n > 0) this.inc({ [label]: k }, n);
      },
    });
  labelled(
    'gridgate_mqtt_auth_refused_total',
    'Refused MQTT CONNECTs, by reason',
    'reason',
    () => gw.deviceAuth?.stats.refused,
  );
  labelled(
    'gridgate_mqtt_publish_denied_total',
    'PUBLISHes outside the client ACL, by reason',
    'reason',
    () => gw.deviceAuth?.stats.publishDenied,
  );
  labelled(
    'gridgate_mqtt_subscribe_denied_total',
    'SUBSCRIBEs outside the client ACL, by reason',
    'reason',
    () => gw.deviceAuth?.stats.subscribeDenied,
  );
  const fairness = () =>
    gw.ingress instanceof EmbeddedBroker || gw.ingress instanceof ThreadedEmbeddedBroker
      ? gw.ingress.fairness
      : undefined;
  new Counter({
    name: 'gridgate_mqtt_reads_deferred_total',
    help: 'Reads of device connections put off to a later event-loop turn by mqtt.embedded.readBudgetMs, or held while the pipeline catches up (rising: the gateway is saturated)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(fairness()?.deferred ?? 0);
    },
  });
  new Gauge({
    name: 'gridgate_devices_flagged',
    help: 'Devices currently throttled for exceeding their message rate',
    registers: [registry],
    collect() {
      this.set(gw.rateLimiter?.flagged().length ?? 0);
    },
  });
  return registry;
}
