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

/** Seconds since `at` (epoch ms); 0 when there is nothing to age. */
const ageSeconds = (at: number | undefined): number =>
  at === undefined ? 0 : Math.max(0, (Date.now() - at) / 1000);

/**
 * Prometheus metrics. Components keep plain counters on their hot paths; this reads them at
 * scrape time (collect callbacks), so exporting costs nothing per message.
 */
export function gatewayMetrics(gw: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gridgate_process_' });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  /** A counter per `reason`; reasons counted 0 are left out. */
  const byReason = (name: string, help: string, read: () => Record<string, number> | undefined) =>
    new Counter({
      name,
      help,
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(read() ?? {})) if (n > 0) this.inc({ reason }, n);
      },
    });
  const spool = () => gw.writer.spoolStats;
  const delivery = () => gw.alertDelivery?.();

  counter(
    'gridgate_messages_received_total',
    'Messages handed to the ingest pipeline',
    () => gw.pipeline.counters.received,
  );
  counter(
    'gridgate_readings_total',
    'Canonical readings delivered to the sinks',
    () => gw.pipeline.counters.readings,
  );
  byReason('gridgate_rejects_total', 'Rejected messages or fields, by reason', () => gw.deadLetters.counts());
  counter(
    'gridgate_tsdb_lines_written_total',
    'Line-protocol lines accepted by the time-series database',
    () => gw.writer.stats.linesWritten,
  );
  counter(
    'gridgate_tsdb_write_failures_total',
    'Failed write attempts to the time-series database (each retry counts)',
    () => gw.writer.stats.batchesFailed,
  );
  gauge(
    'gridgate_tsdb_spool_bytes',
    'Bytes the disk spool takes (tsdb.spool.maxMB at most)',
    () => spool().bytes,
  );
  gauge(
    'gridgate_tsdb_spool_lines',
    'Lines held in the disk spool, waiting for the database',
    () => spool().lines,
  );
  gauge('gridgate_tsdb_spool_records', 'Batches held in the disk spool', () => spool().records);
  gauge(
    'gridgate_tsdb_spool_oldest_age_seconds',
    'Age of the oldest batch in the disk spool (0 when empty)',
    () => ageSeconds(spool().oldestAt),
  );
  gauge(
    'gridgate_tsdb_spool_open',
    'Whether the disk spool is open (1); 0 when it could not be (folder locked by another gateway, not writable), so readings the database does not take are lost',
    () => (spool().openError === undefined ? 1 : 0),
  );
  counter(
    'gridgate_tsdb_spool_dropped_lines_total',
    'Lines dropped, oldest first, because the disk spool was full',
    () => spool().droppedLines,
  );
  counter(
    'gridgate_tsdb_spool_damaged_records_total',
    'Spool records skipped: damaged in the middle of a segment, or cut short by a crash',
    () => spool().corruptRecords + spool().tornRecords,
  );
  gauge('gridgate_devices_registered', 'Devices in the registry', () => gw.registry.size);
  gauge(
    'gridgate_devices_seen',
    'Registered devices that sent at least one reading since start',
    () => gw.latest.size,
  );
  byReason(
    'gridgate_mqtt_auth_refused_total',
    'Refused MQTT CONNECTs, by reason',
    () => gw.deviceAuth?.stats.refused,
  );
  byReason(
    'gridgate_mqtt_publish_denied_total',
    'PUBLISHes outside the client ACL, by reason',
    () => gw.deviceAuth?.stats.publishDenied,
  );
  byReason(
    'gridgate_mqtt_subscribe_denied_total',
    'SUBSCRIBEs outside the client ACL, by reason',
    () => gw.deviceAuth?.stats.subscribeDenied,
  );
  counter(
    'gridgate_mqtt_reads_deferred_total',
    'Reads of device connections put off to a later event-loop turn by mqtt.embedded.readBudgetMs, or held while the pipeline catches up (rising: the gateway is saturated)',
    () => gw.ingress.fairness?.deferred ?? 0,
  );
  gauge(
    'gridgate_mqtt_intake_unsettled_messages',
    'QoS 1 messages acknowledged once in the intake log whose readings the database or spool has not confirmed yet (replayed after a crash); stays near 0 while writes keep up',
    () => gw.ingress.intakeUnsettled ?? 0,
  );
  gauge(
    'gridgate_devices_flagged',
    'Devices currently throttled for exceeding their message rate',
    () => gw.rateLimiter.flagged().length,
  );
  // Alert delivery (dispatch.outbox): what waits for Redis, how long the oldest has waited.
  gauge(
    'gridgate_alert_outbox_depth',
    'Alert events waiting for Redis (in the outbox on disk, and any still in memory)',
    () => delivery()?.buffered ?? 0,
  );
  gauge(
    'gridgate_alert_outbox_bytes',
    'Bytes of the alert outbox on disk',
    () => delivery()?.outboxBytes ?? 0,
  );
  gauge(
    'gridgate_alert_outbox_oldest_age_seconds',
    'How long the oldest alert event waiting for Redis has waited (0 when none waits)',
    () => ageSeconds(delivery()?.oldestWaitingAt),
  );
  counter(
    'gridgate_alert_outbox_dropped_total',
    'Alert events dropped because the outbox (dispatch.outbox.maxMB) was full',
    () => delivery()?.dropped ?? 0,
  );
  counter(
    'gridgate_alerts_enqueued_total',
    'Alert events (per queue) accepted by Redis, re-sends deduplicated by BullMQ included',
    () => delivery()?.enqueued ?? 0,
  );
  counter(
    'gridgate_alert_enqueue_failures_total',
    'Failed attempts to enqueue an alert event (each retry counts)',
    () => delivery()?.failures ?? 0,
  );
  return registry;
}
