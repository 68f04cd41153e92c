import { describe, expect, it } from 'vitest';
import { DeviceIndex } from '../../processors/registry/device-index.js';
import { type DeviceRecord, validateDevice } from '../../processors/registry/device-schema.js';
import { gauge, knownModels, SAMPLE } from './fixtures.js';

function record(input: unknown): DeviceRecord {
  const r = validateDevice(input, knownModels);
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r.device;
}

describe('DeviceIndex', () => {
  it('keeps every record as given, frozen, while sharing what records repeat', () => {
    const records = SAMPLE.map(record);
    const copies = structuredClone(records);
    const index = new DeviceIndex();
    index.replaceAll(JSON.parse(JSON.stringify(records)) as DeviceRecord[]);
    index.set(record(gauge('fg-3', { labels: { owner: '水利局' } })));
    for (const r of copies) expect(index.get(r.id)).toEqual(r);
    expect(index.get('fg-3')?.labels).toEqual({ owner: '水利局' });

    const a = index.get('dm-1') as DeviceRecord;
    const b = index.get('dm-2') as DeviceRecord;
    expect(Object.isFrozen(a.labels)).toBe(true);
    expect(a.labels).toBe(b.labels); // one shared empty object, not one per device
    expect(a.cameras).toBe(b.cameras);
    expect(() => a.cameras.push('x')).toThrow(TypeError);
  });
});
