import type { DeviceModel } from '../processors/devices/define.js';
import { placeDevice, type RegistryEntry } from './fleet.js';
import type { Hj212StationSpec } from './hj212/station.js';
import { createRng } from './prng.js';

/**
 * HJ 212-2017 stations to run beside the MQTT fleet (dust and air monitors speaking TCP), with
 * registry entries carrying their MN and password so the gateway can authenticate them.
 */
export interface Hj212FleetOptions {
  stations: number;
  seed?: number;
  /** The model index; the `hj212` dust and air models are taken from it. */
  models: readonly DeviceModel[];
  /** Station password (HJ 212-2017 §6.3.2 PW); default 123456, the usual factory setting. */
  password?: string;
}

export interface Hj212Fleet {
  specs: Hj212StationSpec[];
  entries: RegistryEntry[];
}

export function buildHj212Fleet(opts: Hj212FleetOptions): Hj212Fleet {
  const password = opts.password ?? '123456';
  const rng = createRng(opts.seed ?? 1).fork('hj212');
  const modelFor = (kind: 'dust' | 'air') => {
    const m = opts.models
      .filter((x) => x.family === kind && x.format === 'hj212')
      .sort((a, b) => a.id.localeCompare(b.id))[0];
    if (!m) throw new RangeError(`no HJ 212 ${kind} model in the model index`);
    return m;
  };
  const specs: Hj212StationSpec[] = [];
  const entries: RegistryEntry[] = [];
  const width = Math.max(4, String(opts.stations).length);
  for (let i = 0; i < opts.stations; i++) {
    const kind = i % 2 === 0 ? 'dust' : 'air';
    const n = String(Math.floor(i / 2) + 1).padStart(width, '0');
    const id = `${kind}-hj212-${n}`;
    // MN: 14 digits, Kaifeng's administrative prefix 4102 then a serial (HJ 212-2017 §6.3.2 allows 1–24).
    const mn = `4102${kind === 'dust' ? '1' : '2'}${String(i + 1).padStart(9, '0')}`;
    specs.push({ mn, password, kind });
    entries.push({ ...placeDevice(id, kind, modelFor(kind).id, rng.fork(id)), hj212: { mn, password } });
  }
  return { specs, entries };
}

/** `host:port` -> its parts, or a message saying what is wrong. */
export function parseHostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  const host = i > 0 ? v.slice(0, i) : '';
  const port = Number(v.slice(i + 1));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`'${v}' is not HOST:PORT (e.g. 127.0.0.1:9212)`);
  }
  return { host, port };
}
