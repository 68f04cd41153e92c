import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceInput } from '../../processors/registry/device-schema.js';
import type { DeviceReader } from '../../processors/registry/types.js';
import { SAMPLE } from './fixtures.js';

/**
 * The read-side contract every registry implementation honours (after aedes-persistence's
 * abstract.js): each implementation's test file calls this with a factory that stores SAMPLE.
 */
export function readContract(
  name: string,
  make: (devices: readonly DeviceInput[]) => Promise<{ reader: DeviceReader; close(): Promise<void> }>,
): void {
  describe(`${name}: DeviceReader contract`, () => {
    let reader: DeviceReader;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ reader, close } = await make(SAMPLE));
    });
    afterAll(async () => {
      await close();
    });

    it('serves every device by id, with family derived and defaults filled', () => {
      expect(reader.size).toBe(SAMPLE.length);
      const d = reader.get('fg-1');
      expect(d?.family).toBe('flood');
      expect(d?.state).toBe('commissioning');
      expect(d?.labels).toEqual({});
      expect(d?.attrs.warning_level_m).toBe(0.3);
      expect(reader.get('nope')).toBeUndefined();
    });

    it('lists sorted by id, filtered by location, family and state', () => {
      expect(reader.list().map((d) => d.id)).toEqual(['dm-1', 'dm-2', 'fg-1', 'fg-2']);
      expect(reader.list({ family: 'flood' }).map((d) => d.id)).toEqual(['fg-1', 'fg-2']);
      expect(reader.list({ district: '龙亭区' }).map((d) => d.id)).toEqual(['fg-2']);
      expect(reader.list({ family: 'flood', state: 'active' }).map((d) => d.id)).toEqual(['fg-2']);
      expect(reader.list({ family: 'air' })).toEqual([]);
    });

    it('finds HJ 212 stations by MN', () => {
      expect(reader.byHj212Mn('MNdm1')?.id).toBe('dm-1');
      expect(reader.byHj212Mn('MN0002')?.id).toBe('dm-2');
      expect(reader.byHj212Mn('MN9999')).toBeUndefined();
    });

    it('hands out records a caller cannot change', () => {
      const d = reader.get('fg-1')!;
      expect(() => {
        (d.attrs as Record<string, unknown>).warning_level_m = 99;
      }).toThrow(TypeError);
      expect(reader.get('fg-1')?.attrs.warning_level_m).toBe(0.3);
    });
  });
}
