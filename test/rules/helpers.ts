import type { AlertEvent, AlertSink } from '../../processors/alerts/event.js';
import { RuleEngine, type RuleEngineOptions } from '../../processors/rules/engine.js';
import { parseRuleFiles, type RuleSet } from '../../processors/rules/parse.js';
import { MemoryIncidentStore } from '../../processors/rules/store.js';
import type { Device, Reading } from '../../processors/types.js';

/**
 * The sink interface, recording: the engine's output under test (D2 tests the BullMQ side). Events
 * reach it once saved with their incident state: `await e.drain()` before reading it.
 */
export class RecordingSink implements AlertSink {
  readonly events: AlertEvent[] = [];
  async emit(e: AlertEvent): Promise<void> {
    this.events.push(e);
  }
  types(): string[] {
    return this.events.map((e) => `${e.type}:${e.severity}`);
  }
}

export function rules(yaml: string): RuleSet {
  const { set, errors } = parseRuleFiles([{ path: 'test.yaml', text: yaml }]);
  if (errors.length) throw new Error(errors.map((e) => `${e.line}: ${e.message}`).join('\n'));
  return set;
}

export function device(over: Partial<Device> = {}): Device {
  return {
    id: 'WL-001',
    model: 'acme-wl100',
    family: 'flood',
    location: { district: '鼓楼区', street: '南街街道', community: '三坊社区', grid: '网格01' },
    state: 'active',
    attrs: { warning_level_m: 2.5, danger_level_m: 3.0 },
    labels: {},
    cameras: [],
    ...over,
  };
}

export function reading(
  d: Device,
  time: number,
  fields: Record<string, number>,
  tags: Record<string, string> = {},
): Reading {
  return {
    device: d.id,
    measurement: d.family,
    time,
    fields,
    tags: { device: d.id, family: d.family, ...tags },
  };
}

export const T0 = Date.UTC(2026, 6, 1, 0, 0, 0);
export const MIN = 60_000;

export async function engine(set: RuleSet, over: Partial<RuleEngineOptions> = {}) {
  const sink = new RecordingSink();
  const e = new RuleEngine({
    rules: set,
    sink,
    store: new MemoryIncidentStore(),
    flushIntervalMs: 0,
    ...over,
  });
  await e.start();
  return { e, sink };
}
