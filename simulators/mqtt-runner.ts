import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import type { MessageKind } from '../processors/types.js';
import { encodeEvent, encodeTelemetry, toBuffer, topicFor } from './encode.js';
import type { Fleet } from './fleet.js';
import { waitConnect } from './mqtt-wait.js';
import { ScenarioClock } from './scenario-clock.js';
import { type Behaviour, createBehaviour, type Emission, type ScenarioName } from './scenarios/index.js';
import type { SimDevice } from './scenarios/types.js';

/**
 * Runs a simulated fleet against an MQTT broker with mqtt.js.
 *
 * Connection modes:
 * - `per-device` (default): one MQTT connection per device, client id = device id, a last will of
 *   `offline` on its status topic and an `online` status on connect. This is what the gateway sees
 *   in the field, and the only mode where the broker's connect/disconnect and the LWT follow the
 *   device, so the offline scenario means something. Thousands of loopback connections from one
 *   process are fine; they connect in batches so the broker is not hit by a SYN storm.
 * - `shared`: a few connections publish for all devices. No per-device LWT: an outage is announced
 *   by publishing `offline` on the device's status topic instead. For fleets so large the
 *   connection count itself is not what is being tested.
 */
export type ConnectionMode = 'per-device' | 'shared';

export interface RunnerOptions {
  url: string;
  fleet: Fleet;
  scenario?: ScenarioName;
  seed?: number;
  /** Scenario seconds per real second. */
  speed?: number;
  qos?: 0 | 1;
  connection?: ConnectionMode;
  /** Connections in `shared` mode. */
  sharedConnections?: number;
  /** Devices connecting at once in `per-device` mode. */
  connectBatch?: number;
  /** How often the scenario clock advances, real ms. */
  tickMs?: number;
  /** Scenario start (epoch ms); defaults to now, so working hours follow the real time of day. */
  scenarioStartMs?: number;
  /** Behaviour per device; defaults to the named scenario's. Tests inject their own. */
  behaviourFor?: (sim: SimDevice) => Behaviour;
  logger?: Logger;
}

export interface RunnerStats {
  devices: number;
  connected: number;
  published: number;
  errors: number;
  /** Abrupt disconnects (outages) so far. */
  outages: number;
  byKind: Record<MessageKind, number>;
}

interface DeviceSlot {
  index: number;
  sim: SimDevice;
  behaviour: Behaviour;
  client?: MqttClient;
  /** Scenario time the current outage ends; undefined when up. */
  offlineUntil?: number;
}

export class MqttFleetRunner {
  readonly stats: RunnerStats;
  readonly #opts: Required<Omit<RunnerOptions, 'behaviourFor' | 'scenarioStartMs' | 'logger'>>;
  readonly #log: Logger;
  readonly #slots: DeviceSlot[];
  readonly #shared: MqttClient[] = [];
  #clock?: ScenarioClock;
  #timer?: NodeJS.Timeout;
  #scenarioTo = 0;
  #stopping = false;

  constructor(opts: RunnerOptions) {
    this.#opts = {
      url: opts.url,
      fleet: opts.fleet,
      scenario: opts.scenario ?? 'all',
      seed: opts.seed ?? 1,
      speed: opts.speed ?? 1,
      qos: opts.qos ?? 0,
      connection: opts.connection ?? 'per-device',
      sharedConnections: opts.sharedConnections ?? 4,
      connectBatch: opts.connectBatch ?? 100,
      tickMs: opts.tickMs ?? 100,
    };
    this.#log = opts.logger ?? pino({ level: 'silent' });
    const startMs = opts.scenarioStartMs ?? Date.now();
    this.#clock = new ScenarioClock(Date.now(), startMs, this.#opts.speed);
    const make =
      opts.behaviourFor ??
      ((sim: SimDevice) =>
        createBehaviour(sim, { scenario: this.#opts.scenario, seed: this.#opts.seed, startMs }));
    this.#slots = opts.fleet.map((sim, index) => ({ index, sim, behaviour: make(sim) }));
    this.stats = {
      devices: this.#slots.length,
      connected: 0,
      published: 0,
      errors: 0,
      outages: 0,
      byKind: { telemetry: 0, event: 0, status: 0 },
    };
  }

  /** Connects the fleet (in batches), then starts publishing. Resolves once every device has tried to connect. */
  async start(): Promise<void> {
    const o = this.#opts;
    if (o.connection === 'shared') {
      const n = Math.max(1, Math.min(o.sharedConnections, this.#slots.length));
      for (let i = 0; i < n; i++) {
        this.#shared.push(this.#connect(`gridgate-sim-${process.pid}-${i}`, {}));
      }
      await Promise.all(this.#shared.map((c) => waitConnect(c)));
      for (const s of this.#slots) this.#publishStatus(s, 'online');
    } else {
      for (let i = 0; i < this.#slots.length; i += o.connectBatch) {
        if (this.#stopping) return;
        const batch = this.#slots.slice(i, i + o.connectBatch);
        await Promise.all(batch.map((s) => waitConnect(this.#connectDevice(s))));
      }
    }
    if (this.#stopping) return;
    // The scenario clock starts when the fleet is up, so no report is lost to connection time.
    const clock = this.#clock as ScenarioClock;
    this.#clock = new ScenarioClock(Date.now(), clock.scenarioStartMs, o.speed);
    this.#scenarioTo = clock.scenarioStartMs;
    this.#timer = setInterval(() => this.#tick(), o.tickMs);
  }

  /** Stops publishing and disconnects every device cleanly (DISCONNECT sent, so no last will). */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    const clients = [...this.#shared, ...this.#slots.map((s) => s.client)].filter(
      (c): c is MqttClient => c !== undefined,
    );
    await Promise.all(clients.map((c) => c.endAsync(false).catch(() => undefined)));
  }

  /** Advance the scenario to now and publish what every device sent meanwhile. */
  #tick(): void {
    const clock = this.#clock as ScenarioClock;
    const from = this.#scenarioTo;
    const to = clock.scenarioAt(Date.now());
    this.#scenarioTo = to;
    for (const slot of this.#slots) {
      if (slot.offlineUntil !== undefined && to >= slot.offlineUntil) this.#restore(slot);
      // One device's failure (a scenario bug, an event its vendor cannot express) stays its own.
      try {
        for (const e of slot.behaviour.tick(from, to)) this.#emit(slot, e, clock.realAt(e.at));
      } catch (err) {
        this.stats.errors++;
        this.#log.error({ err, device: slot.sim.device.id }, 'scenario step failed');
      }
    }
  }

  #emit(slot: DeviceSlot, e: Emission, realMs: number): void {
    const { model, device } = slot.sim;
    if (e.kind === 'offline') {
      this.#goOffline(slot, e.untilMs);
      return;
    }
    if (slot.offlineUntil !== undefined) return;
    const ts = Math.min(Math.round(realMs), Date.now());
    const kind: MessageKind = e.kind === 'telemetry' ? 'telemetry' : 'event';
    const payload =
      e.kind === 'telemetry' ? encodeTelemetry(model, e.values, ts) : encodeEvent(model, e.record, ts);
    this.#publish(slot, kind, topicFor(model, kind, device.id), toBuffer(payload));
  }

  #publish(slot: DeviceSlot, kind: MessageKind, topic: string, payload: Buffer | string): void {
    const client = this.#clientFor(slot);
    if (!client) return;
    client.publish(topic, payload, { qos: this.#opts.qos }, (err) => {
      if (err) {
        this.stats.errors++;
        this.#log.debug({ err, device: slot.sim.device.id, topic }, 'publish failed');
      } else {
        this.stats.published++;
        this.stats.byKind[kind]++;
      }
    });
  }

  #publishStatus(slot: DeviceSlot, status: 'online' | 'offline'): void {
    this.#publish(slot, 'status', topicFor(slot.sim.model, 'status', slot.sim.device.id), status);
  }

  #clientFor(slot: DeviceSlot): MqttClient | undefined {
    if (this.#shared.length === 0) return slot.client;
    return this.#shared[slot.index % this.#shared.length];
  }

  #goOffline(slot: DeviceSlot, untilMs: number): void {
    if (slot.offlineUntil !== undefined) return;
    slot.offlineUntil = untilMs;
    this.stats.outages++;
    this.#log.info({ device: slot.sim.device.id }, 'simulated outage: dropping the connection');
    if (this.#shared.length > 0) {
      // No per-device connection to drop: say what its last will would have said.
      this.#publishStatus(slot, 'offline');
      return;
    }
    const c = slot.client;
    slot.client = undefined;
    // end(true) destroys the socket without a DISCONNECT packet, so the broker publishes the will
    // [MQTT-3.1.2-8].
    c?.end(true);
  }

  #restore(slot: DeviceSlot): void {
    slot.offlineUntil = undefined;
    if (this.#shared.length > 0) this.#publishStatus(slot, 'online');
    else this.#connectDevice(slot);
  }

  #connectDevice(slot: DeviceSlot): MqttClient {
    const { device, model } = slot.sim;
    const client = this.#connect(device.id, {
      will: {
        topic: topicFor(model, 'status', device.id),
        payload: Buffer.from('offline'),
        qos: this.#opts.qos,
        retain: false,
      },
    });
    client.on('connect', () => {
      if (slot.client === client) this.#publishStatus(slot, 'online');
    });
    slot.client = client;
    return client;
  }

  #connect(clientId: string, extra: IClientOptions): MqttClient {
    const client = connect(this.#opts.url, {
      clientId,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...extra,
    });
    let up = false;
    client.on('connect', () => {
      if (!up) this.stats.connected++;
      up = true;
    });
    client.on('close', () => {
      if (up) this.stats.connected--;
      up = false;
    });
    client.on('error', (err) => {
      this.stats.errors++;
      this.#log.warn({ err, clientId }, 'mqtt client error');
    });
    return client;
  }
}

/** Run a fleet until `signal` aborts; resolves with the final counters. */
export async function runFleet(opts: RunnerOptions, signal: AbortSignal): Promise<RunnerStats> {
  const runner = new MqttFleetRunner(opts);
  const aborted = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.race([runner.start(), aborted]);
  await aborted;
  await runner.stop();
  return runner.stats;
}
