import { MODELS } from '../processors/devices/index.js';
import { encodeTelemetry, topicFor } from './encode.js';
import { buildFleet, type Fleet } from './fleet.js';
import type { FleetDevice } from './fleet-connections.js';
import { nominalValues } from './load.js';
import { createRng } from './prng.js';

/**
 * The fleet of the benchmark's per-device connections: flood, dust and air gauges (the families
 * that report readings on a timer; access controllers send events when doors open), deterministic
 * in (devices, seed), so the scenario that registers them and the load processes that connect as
 * them agree on every id, model and topic.
 */
export const GAUGE_FAMILIES = ['flood', 'dust', 'air'] as const;

export function buildGaugeFleet(devices: number, seed = 1): Fleet {
  return buildFleet({ devices, families: GAUGE_FAMILIES, seed, models: MODELS });
}

/**
 * Each gauge as a connection needs it: its telemetry topic, its secret, and calm nominal readings
 * in its vendor's payload (the rules stay quiet; this measures connections, not alerting).
 */
export function toFleetDevices(fleet: Fleet, secrets: ReadonlyMap<string, string>, seed = 1): FleetDevice[] {
  const rng = createRng(seed);
  return fleet.map((sim) => {
    const id = sim.device.id;
    const secret = secrets.get(id);
    if (secret === undefined) throw new Error(`no MQTT secret for device ${id}`);
    const values = nominalValues(sim, rng.fork(id));
    return {
      id,
      secret,
      topic: topicFor(sim.model, 'telemetry', id),
      payload: (atMs: number) => Buffer.from(JSON.stringify(encodeTelemetry(sim.model, values, atMs))),
    };
  });
}

/** The secrets file of `gridgate devices import --issue-secrets --secrets-out` (device_id,mqtt_username,mqtt_password). */
export function parseSecretsCsv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const [id, , secret] = line.split(',');
    if (id && secret) out.set(id, secret);
  }
  return out;
}
