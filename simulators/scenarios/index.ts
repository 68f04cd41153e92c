import { createRng } from '../prng.js';
import { createAccessController } from './access.js';
import { createAirStation } from './air.js';
import { createConstructionSite } from './dust.js';
import { createHealth } from './health.js';
import { withOutages } from './offline.js';
import { createFloodGauge, defaultRainEvent, type RainEvent } from './rain.js';
import type { Behaviour, SimDevice } from './types.js';

export type { Behaviour, Emission, SimDevice } from './types.js';

export const SCENARIOS = ['all', 'rain', 'dust', 'access', 'offline'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioOptions {
  scenario: ScenarioName;
  seed: number;
  /** Scenario-clock epoch ms at which the run starts. */
  startMs: number;
  /** Override the storm of the rain scenario. */
  rain?: RainEvent;
  /** Share of devices that have outages; default 5% under `all`, 30% under `offline`, else 0. */
  offlineShare?: number;
}

/**
 * The behaviour of one device under a scenario. Each family does its everyday thing; the named
 * scenario switches on its incident (the storm, the site's spikes, door incidents, outages).
 * Every device draws from its own PRNG stream (seed + device id), so adding a device to the fleet
 * does not change what the others do.
 */
export function createBehaviour(sim: SimDevice, opts: ScenarioOptions): Behaviour {
  const { scenario, startMs } = opts;
  const rng = createRng(opts.seed).fork(sim.device.id);
  const health = createHealth(rng.fork('health'), startMs);
  const on = (name: ScenarioName) => scenario === 'all' || scenario === name;
  let b: Behaviour;
  switch (sim.device.family) {
    case 'flood': {
      const rain = on('rain') ? (opts.rain ?? defaultRainEvent(startMs)) : undefined;
      b = createFloodGauge(sim, rng, health, rain ? { startMs, rain } : { startMs });
      break;
    }
    case 'dust':
      b = createConstructionSite(sim, rng, health, {
        startMs,
        severeSpikeChance: on('dust') ? 0.02 : 0,
      });
      break;
    case 'air':
      b = createAirStation(sim, rng, health, { startMs });
      break;
    case 'access':
      b = createAccessController(sim, rng, health, { startMs, incidents: on('access') });
      break;
    case 'camera':
      throw new RangeError('cameras are simulated over real RTSP (simulators/rtsp/), not over MQTT');
  }
  const share = opts.offlineShare ?? (scenario === 'all' ? 0.05 : scenario === 'offline' ? 0.3 : 0);
  const outageRng = rng.fork('outage');
  if (outageRng.chance(share)) {
    b = withOutages(b, outageRng, {
      startMs,
      meanUptimeH: scenario === 'offline' ? 0.5 : 2,
      firstAfterMin: 5,
    });
  }
  return b;
}
