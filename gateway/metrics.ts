import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { DeviceAuthStats } from '../adapters/mqtt/device-auth.js';
import type { FairReadsStats } from '../adapters/mqtt/fair-reads.js';
import type { TsdbWriter } from '../adapters/tsdb/influx-writer.js';
import type { AlertDeliveryStats } from './http/routes/health.js';

/** What the metrics read, each at scrape time. */
export interface MetricsSources {
  pipeline: { readonly counters: { readonly received: number; readonly readings: number } };
  deadLetters: { counts(): Record<string, number> };
  writer: Pick<TsdbWriter, 'stats' | 'spoolStats'>;
  registry: { readonly size: number };
  latest: { readonly size: number };
  /** The embedded broker's device auth; absent with an external broker. */
  deviceAuth?: { readonly stats: Pick<DeviceAuthStats, 'refused' | 'publishDenied' | 'subscribeDenied'> };
  /** The MQTT edge's read fairness (embedded broker with mqtt.embedded.readBudgetMs). */
  ingress: {
    readonly fairness?: Readonly<FairReadsStats>;
    /** Messages in the MQTT intake log whose readings are not yet confirmed durable. */
    readonly intakeUnsettled?: number;
  };
  rateLimiter: { flagged(): readonly unknown[] };
  /** Alert delivery to Redis and its outbox (AlertDispatcher.stats()). */
  alertDelivery?: () => AlertDeliveryStats;
}

/**
 * Prometheus metrics. Components keep plain counters on their hot paths; this reads them at
 * scrape time (collect callbacks), so exporting costs nothing per message.
 */
export function gatewayMetrics(gw: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gridgate_process_' });
  new Counter({
    name: 'gridgate_messages_received_total',
    help: 'Messages handed to the ingest pipeline',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gw.pipeline.counters.received);
    },
  });
  new Counter({
    name: 'gridgate_readings_total',
    help: 'Canonical readings delivered to the sinks',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gw.pipeline.counters.readings);
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
      this.inc(gw.writer.stats.linesWritten);
    },
  });
  new Counter({
    name: 'gridgate_tsdb_write_failures_total',
    help: 'Failed write attempts to the time-series database (each retry counts)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gw.writer.stats.batchesFailed);
    },
  });
  const spool = (
    name: string,
    help: string,
    read: (s: TsdbWriter['spoolStats']) => number,
    Kind: typeof Gauge | typeof Counter = Gauge,
  ) =>
    new Kind({
      name,
      help,
      registers: [registry],
      collect(this: Gauge | Counter) {
        this.reset();
        this.inc(read(gw.writer.spoolStats));
      },
    });
  spool('gridgate_tsdb_spool_bytes', 'Bytes the disk spool takes (tsdb.spool.maxMB at most)', (s) => s.bytes);
  spool(
    'gridgate_tsdb_spool_lines',
    'Lines held in the disk spool, waiting for the database',
    (s) => s.lines,
  );
  spool('gridgate_tsdb_spool_records', 'Batches held in the disk spool', (s) => s.records);
  spool(
    'gridgate_tsdb_spool_oldest_age_seconds',
    'Age of the oldest batch in the disk spool (0 when empty)',
    (s) => (s.oldestAt === undefined ? 0 : Math.max(0, (Date.now() - s.oldestAt) / 1000)),
  );
  spool(
    'gridgate_tsdb_spool_open',
    'Whether the disk spool is open (1); 0 when it could not be (folder locked by another gateway, not writable), so readings the database does not take are lost',
    (s) => (s.openError === undefined ? 1 : 0),
  );
  spool(
    'gridgate_tsdb_spool_dropped_lines_total',
    'Lines dropped, oldest first, because the disk spool was full',
    (s) => s.droppedLines,
    Counter,
  );
  spool(
    'gridgate_tsdb_spool_damaged_records_total',
    'Spool records skipped: damaged in the middle of a segment, or cut short by a crash',
    (s) => s.corruptRecords + s.tornRecords,
    Counter,
  );
  new Gauge({
    name: 'gridgate_devices_registered',
    help: 'Devices in the registry',
    registers: [registry],
    collect() {
      this.set(gw.registry.size);
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
  new Counter({
    name: 'gridgate_mqtt_reads_deferred_total',
    help: 'Reads of device connections put off to a later event-loop turn by mqtt.embedded.readBudgetMs, or held while the pipeline catches up (rising: the gateway is saturated)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gw.ingress.fairness?.deferred ?? 0);
    },
  });
  new Gauge({
    name: 'gridgate_mqtt_intake_unsettled_messages',
    help: 'QoS 1 messages acknowledged once in the intake log whose readings the database or spool has not confirmed yet (replayed after a crash); stays near 0 while writes keep up',
    registers: [registry],
    collect() {
      this.set(gw.ingress.intakeUnsettled ?? 0);
    },
  });
  new Gauge({
    name: 'gridgate_devices_flagged',
    help: 'Devices currently throttled for exceeding their message rate',
    registers: [registry],
    collect() {
      this.set(gw.rateLimiter.flagged().length);
    },
  });
  // Alert delivery (dispatch.outbox): what waits for Redis, how long the oldest has waited.
  const delivery = () => gw.alertDelivery?.();
  new Gauge({
    name: 'gridgate_alert_outbox_depth',
    help: 'Alert events waiting for Redis (in the outbox on disk, and any still in memory)',
    registers: [registry],
    collect() {
      this.set(delivery()?.buffered ?? 0);
    },
  });
  new Gauge({
    name: 'gridgate_alert_outbox_bytes',
    help: 'Bytes of the alert outbox on disk',
    registers: [registry],
    collect() {
      this.set(delivery()?.outboxBytes ?? 0);
    },
  });
  new Gauge({
    name: 'gridgate_alert_outbox_oldest_age_seconds',
    help: 'How long the oldest alert event waiting for Redis has waited (0 when none waits)',
    registers: [registry],
    collect() {
      const at = delivery()?.oldestWaitingAt;
      this.set(at === undefined ? 0 : Math.max(0, (Date.now() - at) / 1000));
    },
  });
  new Counter({
    name: 'gridgate_alert_outbox_dropped_total',
    help: 'Alert events dropped because the outbox (dispatch.outbox.maxMB) was full',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(delivery()?.dropped ?? 0);
    },
  });
  new Counter({
    name: 'gridgate_alerts_enqueued_total',
    help: 'Alert events (per queue) accepted by Redis, re-sends deduplicated by BullMQ included',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(delivery()?.enqueued ?? 0);
    },
  });
  new Counter({
    name: 'gridgate_alert_enqueue_failures_total',
    help: 'Failed attempts to enqueue an alert event (each retry counts)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(delivery()?.failures ?? 0);
    },
  });
  return registry;
}
