import { connect, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import { type CanonicalValues, encodeEvent, encodeTelemetry, topicFor } from './encode.js';
import type { Fleet } from './fleet.js';
import { waitConnect } from './mqtt-wait.js';
import { createRng, type Rng } from './prng.js';
import type { SimDevice } from './scenarios/types.js';

/**
 * Load mode for benchmarks (issue 6): a bounded number of vendor messages at a target rate, paced
 * by a drift-free token bucket (the target count is rate × elapsed since start, sent in a batch per
 * tick, and when every socket is full, again as soon as one drains), spread round-robin over the
 * fleet's devices. Per-message work is a buffer lookup and one publish: each device's payload is
 * pre-encoded and re-encoded at most once a second so its timestamp stays fresh.
 */
export interface LoadOptions {
  url: string;
  fleet: Fleet;
  /** Target messages per second across all devices. */
  rate: number;
  /** Target duration; the run sends round(rate × durationS) messages. */
  durationS: number;
  qos?: 0 | 1;
  /** Number of shared connections, or one per device (client id = device id). Default 4. */
  connections?: number | 'per-device';
  /** Pacing tick, real ms. */
  tickMs?: number;
  /** Hard stop, real seconds; default 2 × duration + 10. What is unsent by then is reported as a shortfall. */
  maxS?: number;
  /** QoS 1: publishes awaiting PUBACK per connection before that connection pauses. */
  maxInflight?: number;
  /**
   * How stale a device's pre-encoded payload (and its timestamp) may get, ms. Default 1000; 0
   * encodes every message, for latency runs that read the device timestamp (epoch_ms models).
   */
  refreshMs?: number;
  seed?: number;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface LoadResult {
  target: number;
  /** Handed to the socket (QoS 0) or acknowledged by the broker (QoS 1). */
  published: number;
  errors: number;
  elapsedMs: number;
  achievedRate: number;
  connections: number;
  qos: 0 | 1;
}

interface Template {
  topic: string;
  sim: SimDevice;
  values: CanonicalValues;
  payload: Buffer;
  encodedAt: number;
  conn: number;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const qos = opts.qos ?? 0;
  const log = opts.logger ?? pino({ level: 'silent' });
  const tickMs = opts.tickMs ?? 5;
  const maxInflight = opts.maxInflight ?? 2000;
  const refreshMs = opts.refreshMs ?? 1000;
  const target = Math.round(opts.rate * opts.durationS);
  const perDevice = opts.connections === 'per-device';
  if (!(opts.rate > 0) || !(opts.durationS > 0)) throw new RangeError('rate and durationS must be > 0');
  if (opts.fleet.length === 0) throw new RangeError('load mode needs at least one device');
  const nConn = perDevice
    ? opts.fleet.length
    : Math.max(1, Math.min(typeof opts.connections === 'number' ? opts.connections : 4, opts.fleet.length));

  const rng = createRng(opts.seed ?? 1);
  const now = Date.now();
  const templates: Template[] = opts.fleet.map((sim, i) => {
    const values = nominalValues(sim, rng.fork(sim.device.id));
    const t: Template = {
      topic: topicFor(sim.model, sim.device.family === 'access' ? 'event' : 'telemetry', sim.device.id),
      sim,
      values,
      payload: Buffer.alloc(0),
      encodedAt: 0,
      conn: i % nConn,
    };
    encode(t, now);
    return t;
  });

  const clients: MqttClient[] = [];
  for (let i = 0; i < nConn; i += 200) {
    const batch: Promise<boolean>[] = [];
    for (let j = i; j < Math.min(nConn, i + 200); j++) {
      const id = perDevice ? (opts.fleet[j] as SimDevice).device.id : `gridgate-load-${process.pid}-${j}`;
      const c = connect(opts.url, { clientId: id, clean: true, keepalive: 60, reconnectPeriod: 1000 });
      c.on('error', (err) => log.warn({ err, clientId: id }, 'mqtt client error'));
      clients.push(c);
      batch.push(waitConnect(c));
    }
    await Promise.all(batch);
  }

  const inflight = new Array<number>(nConn).fill(0);
  let sent = 0;
  let published = 0;
  let errors = 0;
  let next = 0;
  const onDone = (conn: number) => (err?: Error) => {
    inflight[conn] = (inflight[conn] ?? 1) - 1;
    if (err) errors++;
    else published++;
  };
  const callbacks = Array.from({ length: nConn }, (_, i) => onDone(i));

  const start = Date.now();
  const hardStop = start + (opts.maxS ?? 2 * opts.durationS + 10) * 1000;
  const burstCap = Math.max(1, Math.ceil(opts.rate * 0.1));
  await new Promise<void>((resolve) => {
    // A tick that finds every socket full waits for the first to drain, not for the next tick: a
    // socket holds ~16 KB (a hundred-odd messages), so waiting out the tick would cap the rate at
    // connections × 16 KB per tick (~85k msg/s with 4 connections and 5 ms), whatever the broker takes.
    let timer: NodeJS.Timeout | undefined;
    const armed = new Array<boolean>(nConn).fill(false);
    const wakers = clients.map((c, i) => {
      c.on('connect', () => {
        armed[i] = false; // a new socket: the old one's drain will never come
      });
      return () => {
        armed[i] = false;
        if (timer === undefined) return;
        clearTimeout(timer);
        timer = undefined;
        setImmediate(tick);
      };
    });
    const tick = () => {
      timer = undefined;
      const t = Date.now();
      if (sent >= target || t >= hardStop || opts.signal?.aborted) return resolve();
      // One tick's worth ahead: the first tick sends a tick's messages instead of none.
      let allowed = Math.min(
        Math.floor((opts.rate * (t - start + tickMs)) / 1000) - sent,
        target - sent,
        burstCap,
      );
      let stalled = 0;
      while (allowed > 0 && stalled < templates.length) {
        const tpl = templates[next] as Template;
        next = next + 1 === templates.length ? 0 : next + 1;
        const client = clients[tpl.conn] as MqttClient;
        const busy =
          !client.connected ||
          (qos === 1 && (inflight[tpl.conn] ?? 0) >= maxInflight) ||
          // The socket's buffer is full: wait for it to drain instead of queueing in memory.
          client.stream?.writableNeedDrain === true;
        if (busy) {
          stalled++;
          continue;
        }
        stalled = 0;
        if (refreshMs === 0) encode(tpl, Date.now());
        else if (t - tpl.encodedAt >= refreshMs) encode(tpl, t);
        inflight[tpl.conn] = (inflight[tpl.conn] ?? 0) + 1;
        client.publish(tpl.topic, tpl.payload, { qos }, callbacks[tpl.conn]);
        sent++;
        allowed--;
      }
      if (sent >= target) return resolve();
      timer = setTimeout(tick, tickMs);
      if (allowed > 0) {
        clients.forEach((c, i) => {
          const stream = c.stream;
          if (armed[i] || stream?.writableNeedDrain !== true) return;
          armed[i] = true;
          stream.once('drain', wakers[i] as () => void);
        });
      }
    };
    tick();
  });

  // Let QoS 1 acknowledgements and queued QoS 0 writes finish, within the hard stop.
  const drainUntil = Math.max(hardStop, Date.now() + 1000);
  while (published + errors < sent && Date.now() < drainUntil && !opts.signal?.aborted) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const elapsedMs = Date.now() - start;
  await Promise.all(clients.map((c) => c.endAsync(false).catch(() => undefined)));
  const result: LoadResult = {
    target,
    published,
    errors,
    elapsedMs,
    achievedRate: elapsedMs > 0 ? (published * 1000) / elapsedMs : 0,
    connections: nConn,
    qos,
  };
  log.info(result, 'load run finished');
  return result;
}

function encode(t: Template, atMs: number): void {
  const { model, device } = t.sim;
  const payload =
    device.family === 'access'
      ? encodeEvent(model, { event: 'granted', door: '1', method: 'card' }, atMs)
      : encodeTelemetry(model, t.values, atMs);
  t.payload = Buffer.from(JSON.stringify(payload));
  t.encodedAt = atMs;
}

/** Plausible, calm values per family: load mode measures throughput, not alerting. */
export function nominalValues(sim: SimDevice, rng: Rng): CanonicalValues {
  const common = { battery_v: rng.range(3.7, 4.1), rssi_dbm: Math.round(rng.range(-95, -60)) };
  switch (sim.device.family) {
    case 'flood':
      return { water_level_m: rng.range(0.5, 2), rain_mm: 0, ...common };
    case 'dust': {
      const pm10 = rng.range(60, 150);
      return {
        pm10_ugm3: pm10,
        pm25_ugm3: pm10 * 0.45,
        tsp_ugm3: pm10 * 2,
        noise_dba: rng.range(50, 70),
        wind_speed_ms: rng.range(0, 5),
        wind_dir_deg: rng.range(0, 359),
        temp_c: rng.range(10, 25),
        humidity_pct: rng.range(30, 80),
        ...common,
      };
    }
    case 'air':
      return {
        aqi: 60,
        pm25_ugm3: rng.range(20, 50),
        pm10_ugm3: rng.range(40, 90),
        no2_ugm3: rng.range(20, 60),
        so2_ugm3: rng.range(5, 15),
        o3_ugm3: rng.range(40, 120),
        co_mgm3: rng.range(0.4, 1),
        temp_c: rng.range(10, 25),
        humidity_pct: rng.range(30, 80),
        ...common,
      };
    case 'access':
      return common;
    case 'camera':
      throw new RangeError('cameras are simulated over real RTSP (simulators/rtsp/), not over MQTT');
  }
}
