import { stringify } from 'yaml';
import type { DeviceModel } from '../processors/devices/define.js';
import { type Device, type Family, SENSOR_FAMILIES } from '../processors/types.js';
import { COMMUNITY_STEMS, communitySuffix, KAIFENG_DISTRICTS } from './places.js';
import { createRng, type Rng } from './prng.js';
import type { SimDevice } from './scenarios/types.js';

/**
 * A fleet of simulated devices spread over the families and their JSON models, with ids like
 * `flood-0001` and a Kaifeng location path. Deterministic in (devices, families, seed, models), so
 * `gridgate simulate --write-devices` and a later `gridgate simulate` with the same options agree.
 */
export interface FleetOptions {
  devices: number;
  families?: readonly Family[];
  seed?: number;
  /** The model index (processors/devices/index.ts MODELS). Only `json` models are simulated over MQTT. */
  models: readonly DeviceModel[];
}

export type Fleet = SimDevice[];

export function buildFleet(opts: FleetOptions): Fleet {
  // Cameras are not MQTT devices: simulators/rtsp/ serves them over real RTSP.
  const families = opts.families && opts.families.length > 0 ? opts.families : SENSOR_FAMILIES;
  const byFamily = new Map<Family, DeviceModel[]>();
  for (const f of families) {
    const models = opts.models.filter((m) => m.family === f && m.format === 'json');
    if (models.length === 0)
      throw new RangeError(`no JSON device model for family '${f}' in the model index`);
    byFamily.set(
      f,
      [...models].sort((a, b) => a.id.localeCompare(b.id)),
    );
  }
  const rng = createRng(opts.seed ?? 1);
  const width = Math.max(4, String(opts.devices).length);
  const counters = new Map<Family, number>();
  const fleet: Fleet = [];
  for (let i = 0; i < opts.devices; i++) {
    const family = families[i % families.length] as Family;
    const n = (counters.get(family) ?? 0) + 1;
    counters.set(family, n);
    const models = byFamily.get(family) as DeviceModel[];
    // Alternate models within a family, so every vendor shape is on the wire even in a small fleet.
    const model = models[(n - 1) % models.length] as DeviceModel;
    const id = `${family}-${String(n).padStart(width, '0')}`;
    fleet.push({ device: placeDevice(id, family, model.id, rng.fork(id)), model });
  }
  return fleet;
}

/** A registry entry at a random Kaifeng location; flood gauges get their warning and danger levels. */
export function placeDevice(id: string, family: Family, modelId: string, rng: Rng): Device {
  const district = rng.pick(KAIFENG_DISTRICTS);
  const street = rng.pick(district.streets);
  const community = `${rng.pick(COMMUNITY_STEMS)}${communitySuffix(street)}`;
  const grid = `第${rng.int(1, 6)}网格`;
  const attrs: Device['attrs'] = {};
  if (family === 'flood') {
    const warning = round2(rng.range(2.5, 4));
    attrs.warning_level_m = warning;
    attrs.danger_level_m = round2(warning + rng.range(0.8, 1.2));
  }
  return {
    id,
    model: modelId,
    family,
    location: { district: district.name, street, community, grid },
    lat: round6(district.lat + rng.range(-0.02, 0.02)),
    lon: round6(district.lon + rng.range(-0.02, 0.02)),
    address: `河南省开封市${district.name}${street}${community}`,
    state: 'active',
    attrs,
    labels: { source: 'simulator' },
    cameras: [],
  };
}

export function fleetToDevices(fleet: Fleet): Device[] {
  return fleet.map((s) => s.device);
}

/** A device entry with its HJ 212 identity, as the device file (processors/registry/device-schema.ts) takes it. */
export type RegistryEntry = Device & { hj212?: { mn: string; password?: string } };

/**
 * `devices:` YAML of the fleet (and any HJ 212 stations), for a gateway device file: the Device
 * list as-is, stations with their `hj212: { mn, password }`.
 */
export function fleetToRegistryYaml(fleet: Fleet, extra: readonly RegistryEntry[] = []): string {
  return stringify({ devices: [...fleetToDevices(fleet), ...extra] });
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
