import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MODELS } from '../../processors/devices/index.js';
import { validateDevice } from '../../processors/registry/device-schema.js';
import { buildFleet, fleetToDevices, fleetToRegistryYaml } from '../../simulators/fleet.js';
import { buildHj212Fleet } from '../../simulators/hj212-fleet.js';
import { KAIFENG_DISTRICTS } from '../../simulators/places.js';

describe('buildFleet', () => {
  it('spreads devices over families and their JSON models with padded ids and Kaifeng locations', () => {
    const fleet = buildFleet({ devices: 40, seed: 3, models: MODELS });
    expect(fleet).toHaveLength(40);
    const ids = fleet.map((s) => s.device.id);
    expect(new Set(ids).size).toBe(40);
    expect(ids).toContain('flood-0001');
    expect(ids).toContain('access-0010');
    for (const f of ['flood', 'dust', 'air', 'access']) {
      const ofFamily = fleet.filter((s) => s.device.family === f);
      expect(ofFamily).toHaveLength(10);
      const jsonModels = MODELS.filter((m) => m.family === f && m.format === 'json');
      expect(new Set(ofFamily.map((s) => s.model.id))).toEqual(new Set(jsonModels.map((m) => m.id)));
    }
    const districts = new Map(KAIFENG_DISTRICTS.map((d) => [d.name, d]));
    for (const { device, model } of fleet) {
      expect(device.model).toBe(model.id);
      expect(model.format).toBe('json');
      const d = districts.get(device.location.district);
      expect(d?.streets).toContain(device.location.street);
      expect(device.location.community).toMatch(/(社区|村)$/);
      expect(device.location.grid).toMatch(/^第\d网格$/);
      if (device.family === 'flood') {
        const { warning_level_m: w, danger_level_m: dg } = device.attrs;
        expect(typeof w).toBe('number');
        expect(dg as number).toBeGreaterThan(w as number);
      }
    }
  });

  it('is deterministic, and honours the family filter', () => {
    const a = buildFleet({ devices: 12, families: ['flood', 'access'], seed: 9, models: MODELS });
    const b = buildFleet({ devices: 12, families: ['flood', 'access'], seed: 9, models: MODELS });
    expect(fleetToDevices(a)).toEqual(fleetToDevices(b));
    expect(new Set(a.map((s) => s.device.family))).toEqual(new Set(['flood', 'access']));
    expect(
      fleetToDevices(buildFleet({ devices: 12, families: ['flood', 'access'], seed: 10, models: MODELS })),
    ).not.toEqual(fleetToDevices(a));
  });

  it('writes the device list as YAML that parses back to the same devices', () => {
    const fleet = buildFleet({ devices: 8, seed: 1, models: MODELS });
    expect(parse(fleetToRegistryYaml(fleet))).toEqual({ devices: fleetToDevices(fleet) });
  });

  it('every entry, HJ 212 stations included, passes the device file schema', () => {
    const fleet = buildFleet({ devices: 16, seed: 1, models: MODELS });
    const stations = buildHj212Fleet({ stations: 3, seed: 1, models: MODELS });
    const { devices } = parse(fleetToRegistryYaml(fleet, stations.entries)) as { devices: unknown[] };
    expect(devices).toHaveLength(19);
    const known = (id: string) => MODELS.find((m) => m.id === id)?.family;
    for (const d of devices) {
      const r = validateDevice(d, known);
      expect(r.ok ? [] : r.issues).toEqual([]);
    }
    expect(new Set(stations.specs.map((s) => s.mn)).size).toBe(3);
  });

  it('refuses a family with no JSON model', () => {
    expect(() => buildFleet({ devices: 4, families: ['flood'], models: [] })).toThrow(/no JSON device model/);
  });
});
