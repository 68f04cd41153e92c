import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  closeConnection,
  firstReady,
  type OwnedConnection,
  openConnection,
} from '../adapters/bullmq/connection.js';
import { within } from '../adapters/bullmq/deadline.js';
import { AlertDispatcher } from '../adapters/bullmq/dispatcher.js';
import { type AckRecord, Supervision } from '../adapters/bullmq/supervision.js';
import { SupervisionSink } from '../adapters/bullmq/supervision-sink.js';
import type { PublishOptions } from '../adapters/mqtt/types.js';
import { MqttAlertPublisher } from '../adapters/mqtt-alerts/publisher.js';
import { RedisIncidentStore } from '../adapters/redis/incident-store.js';
import { RedisSilencePersistence } from '../adapters/redis/rule-silences.js';
import { loadRulesDirOrThrow, watchRules } from '../adapters/rules/load-dir.js';
import type { GridgateConfig } from '../config/schema.js';
import type { AlertEvent, AlertSink } from '../processors/alerts/event.js';
import { EvidenceSink, type EvidenceSinkOptions } from '../processors/alerts/evidence.js';
import { FanoutSink } from '../processors/alerts/fanout.js';
import { RecentAlerts } from '../processors/alerts/recent.js';
import { GridgateError } from '../processors/errors.js';
import { buildEvent } from '../processors/rules/alert-event.js';
import { RuleEngine } from '../processors/rules/engine.js';
import { isOpen } from '../processors/rules/incident.js';
import { SilenceStore } from '../processors/rules/silences.js';
import type { DeviceDirectory } from '../processors/types.js';

const SUPERVISION_STOP_MS = 3000;
/** With Redis up the sink settles in ms; with it down there is nothing to forget in Redis anyway. */
const FORGET_SENT_MS = 1000;
/** In dispatch.outbox.dir: that folder is alerting's local durable place, one gateway's only. */
const UNSAVED_STATE_FILE = 'incidents-unsaved.json';

export interface AlertingDeps {
  config: Readonly<GridgateConfig>;
  redis: Redis;
  devices: DeviceDirectory;
  /** Publish on the MQTT edge (embedded broker or external client). */
  publish: (topic: string, payload: Buffer | string, opts?: PublishOptions) => Promise<void>;
  logger: Logger;
  /** Snapshot evidence on firing/escalated events; without it, events go out with `evidence: []`. */
  snapshots?: Omit<EvidenceSinkOptions, 'inner' | 'logger'>;
}

/**
 * The alerting subsystem: rules engine (state in Redis) -> fanout to the BullMQ dispatcher, MQTT
 * alert topics and ack supervision (督办, BullMQ delayed jobs); commissioning devices' alerts go to
 * the installer view instead. Rule files are watched and hot-reloaded.
 */
export class Alerting {
  readonly engine: RuleEngine;
  readonly dispatcher: AlertDispatcher;
  readonly supervision: Supervision;
  readonly silences: SilenceStore;
  readonly installerAlerts = new RecentAlerts();
  readonly recent = new RecentAlerts(1000);
  /** Reloads the rule folder (POST /api/v1/rules/reload); also watches it when rules.watch is on. */
  readonly watcher: ReturnType<typeof watchRules>;
  readonly evidence?: EvidenceSink;
  /**
   * The incident store's saves and the dispatcher's jobs share this connection: Redis applies one
   * connection's commands in order, so an event's job lands after its saved state without the
   * engine waiting for the save's answer (processors/rules/write-behind.ts).
   */
  private readonly stateAndDispatch: OwnedConnection;
  private tick?: NodeJS.Timeout;

  /** Loads the rule folder first: invalid rules stop the gateway from starting, with every error listed. */
  static async create(deps: AlertingDeps): Promise<Alerting> {
    return new Alerting(deps, await loadRulesDirOrThrow(deps.config.rules.dir));
  }

  private constructor(
    private readonly deps: AlertingDeps,
    rules: Awaited<ReturnType<typeof loadRulesDirOrThrow>>,
  ) {
    const { config: cfg, redis, logger } = deps;
    const prefix = cfg.redis.prefix;
    this.stateAndDispatch = openConnection(cfg.redis.url, 'producer', logger);
    this.dispatcher = new AlertDispatcher({
      connection: this.stateAndDispatch.client,
      logger,
      prefix: cfg.dispatch.prefix,
      defaultQueue: cfg.dispatch.queue,
      routes: cfg.dispatch.routes,
      // Events that cannot reach Redis wait on disk, in order; a restart sends them first.
      outbox: cfg.dispatch.outbox,
    });
    const outward: { name: string; sink: AlertSink }[] = [{ name: 'bullmq', sink: this.dispatcher }];
    if (cfg.mqtt.alertTopic !== '') {
      outward.push({
        name: 'mqtt',
        sink: new MqttAlertPublisher({ publish: deps.publish, logger, topic: cfg.mqtt.alertTopic }),
      });
    }
    const fanout = new FanoutSink(outward, logger);
    // Every outward event passes the evidence sink, escalations raised by supervision included.
    this.evidence = deps.snapshots
      ? new EvidenceSink({ ...deps.snapshots, inner: fanout, logger })
      : undefined;
    const dispatch: AlertSink = this.evidence ?? fanout;
    this.supervision = new Supervision({
      connection: cfg.redis.url,
      logger,
      sink: new FanoutSink(
        [
          { name: 'dispatch', sink: dispatch },
          { name: 'recent', sink: this.recent },
        ],
        logger,
      ),
      getIncident: async (id) => this.currentEvent(id),
      prefix: cfg.dispatch.prefix,
      // One supervision queue and ack namespace per redis.prefix: gateways sharing a Redis never take each other's deadlines.
      queue: `${cfg.redis.prefix.replace(/[^A-Za-z0-9_-]+/g, '-')}supervision`,
      ackKeyPrefix: `${cfg.redis.prefix}ack:`,
      // Deadlines that fell due while the gateway was down wait until incidents are loaded (start()).
      autorun: false,
    });
    this.silences = new SilenceStore(new RedisSilencePersistence(redis, { prefix }));
    const supervise = new SupervisionSink(this.supervision, (e) => this.engine.ackWithinFor(e), logger);
    this.engine = new RuleEngine({
      rules,
      sink: new FanoutSink(
        [
          { name: 'dispatch', sink: dispatch },
          { name: 'supervision', sink: supervise },
        ],
        logger,
      ),
      // The recent list shows events as they are raised, whatever the save does.
      onRaised: (e) => void this.recent.emit(e),
      installerSink: this.installerAlerts,
      store: new RedisIncidentStore(this.stateAndDispatch.client, {
        prefix,
        // Beside the events the outbox keeps while Redis is away: the state they follow from.
        unsavedFile: join(resolve(cfg.dispatch.outbox.dir), UNSAVED_STATE_FILE),
        logger,
      }),
      silences: this.silences,
      directory: deps.devices,
      logger: logger.child({ component: 'rules' }),
    });
    this.watcher = watchRules(cfg.rules.dir, this.engine, { logger });
  }

  async start(): Promise<void> {
    // A folder another gateway holds stops the start here: the outbox and the unsaved state are one gateway's.
    await this.dispatcher.ready;
    await this.silences.start(Date.now());
    // The connection fails commands while it is not up: the saved state is read once it is.
    await firstReady(this.stateAndDispatch.client);
    await this.engine.start();
    this.supervision.start();
    if (this.deps.config.rules.watch) await this.watcher.start();
    this.tick = setInterval(() => this.engine.tick(), this.deps.config.rules.tickMs);
    this.tick.unref();
  }

  async stop(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    await this.watcher.stop();
    await this.engine.stop();
    await this.evidence?.drain();
    // Supervision's BullMQ worker waits for a dead Redis without end. Bounded, so that the
    // dispatcher's stop, which leaves every undelivered event in the outbox, always runs in the
    // time the gateway gives this component.
    await within(this.supervision.stop(), SUPERVISION_STOP_MS);
    await this.dispatcher.stop();
    // Every event the engine handed on is in Redis or in the outbox now: their saved copies go, or
    // the next start would send them again (BullMQ drops the copies; MQTT subscribers would not).
    await within(this.engine.drain(FORGET_SENT_MS), FORGET_SENT_MS + 500);
    // A dead Redis must not hold the stop: close politely for a while, then cut the socket.
    if (!(await within(closeConnection(this.stateAndDispatch), 2000)))
      this.stateAndDispatch.client.disconnect();
  }

  /** The incident's current state as an event (what supervision escalates from). */
  currentEvent(incidentId: string): AlertEvent | undefined {
    const inc = this.engine.getIncident(incidentId);
    if (!inc || inc.phase === 'pending') return undefined;
    const rule = this.engine.rules.find((r) => r.id === inc.ruleId);
    if (!rule) return undefined;
    const device = inc.deviceId ? this.deps.devices.get(inc.deviceId) : undefined;
    const type = isOpen(inc) ? 'alert.firing' : 'alert.resolved';
    return buildEvent(
      rule,
      inc,
      { type, severity: inc.severity },
      device,
      inc.lastNotifiedAt ?? inc.firedAt ?? inc.pendingSince,
    );
  }

  /**
   * Acknowledge an open incident: recorded by supervision (cancels the 督办 deadline) and on the
   * incident itself. The first acknowledgement stands: a second returns it unchanged.
   */
  async ack(incidentId: string, by: string, note?: string): Promise<AckRecord> {
    const inc = this.engine.getIncident(incidentId);
    if (!inc) {
      throw new GridgateError('GG_ERR_NOT_FOUND', `incident ${incidentId} is not known`, [
        'list incidents with GET /api/v1/incidents',
      ]);
    }
    if (inc.ackedBy !== undefined) {
      const existing = await this.supervision.getAck(incidentId);
      return (
        existing ?? {
          incidentId,
          by: inc.ackedBy,
          at: new Date(inc.ackedAt ?? 0).toISOString(),
          incidentStartedAt: new Date(inc.pendingSince).toISOString(),
        }
      );
    }
    if (!isOpen(inc)) {
      throw new GridgateError(
        'GG_ERR_CONFLICT',
        `incident ${incidentId} is ${inc.phase}; there is nothing to acknowledge`,
      );
    }
    const record = await this.supervision.ack(incidentId, by, note);
    this.engine.ack(incidentId, record.by, Date.parse(record.at));
    return record;
  }
}
