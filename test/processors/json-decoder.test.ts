import { describe, expect, it } from 'vitest';
import { readPath } from '../../processors/decode/fields.js';
import { createJsonDecoder } from '../../processors/decode/json.js';
import { maxNesting } from '../../processors/decode/json-parse.js';
import type { DeviceModel } from '../../processors/devices/define.js';
import { byMeasurement, context, modelIndex } from './support.js';

const decode = createJsonDecoder({ maxDepth: 32 });
const wl300 = modelIndex.get('hydrotek-wl300') as DeviceModel;
const ac100 = modelIndex.get('gatekeeper-ac100') as DeviceModel;
const fg2 = modelIndex.get('riverwatch-fg2') as DeviceModel;

function run(model: DeviceModel, payload: string | Buffer, kind: 'telemetry' | 'event' = 'telemetry') {
  return decode(context(model, payload, kind));
}

describe('json decoder: whole-message rejects', () => {
  it.each([
    ['invalid_utf8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['invalid_utf8', Buffer.from([0xed, 0xa0, 0x80])],
    ['malformed', '{"wl": 1'],
    ['malformed', '{"wl": NaN}'],
    ['malformed', '{"wl": Infinity}'],
    ['malformed', ''],
    ['malformed', Buffer.from([0x00, 0x01, 0x02, 0x03])],
    ['not_an_object', '[1,2,3]'],
    ['not_an_object', '42'],
    ['not_an_object', 'null'],
    ['not_an_object', '"wl"'],
    ['too_deep', `{"a":${'['.repeat(40)}${']'.repeat(40)}}`],
    ['no_readings', '{}'],
    ['no_readings', '{"unrelated": 5}'],
    ['bad_timestamp', '{"ts":"yesterday","wl":1000}'],
    ['bad_timestamp', '{"ts":null,"wl":1000}'],
  ] as const)('%s: %s', (reason, payload) => {
    const res = run(wl300, payload);
    expect(res.readings).toEqual([]);
    expect(res.rejects.map((r) => r.reason)).toEqual([reason]);
  });

  it('a 100k-deep payload is rejected as too_deep without recursion', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(run(wl300, deep).rejects[0]?.reason).toBe('too_deep');
    const deepObj = `{"a":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_001)}`;
    expect(run(wl300, deepObj).rejects[0]?.reason).toBe('too_deep');
  });

  it('brackets inside strings do not count as nesting', () => {
    const s = JSON.stringify({ note: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\\', wl: 1000 });
    expect(maxNesting(Buffer.from(s), 32)).toBe(1);
    expect(run(wl300, s).readings[0]?.fields.water_level_m).toBe(1);
  });
});

describe('json decoder: per-field rejects keep the good fields', () => {
  it('wrong types: non-numeric string, null, object, array, boolean, hex, Infinity-overflow', () => {
    for (const bad of ['"high"', 'null', '{"v":1}', '[1]', 'true', '"0x10"', '1e400', '"1e400"', '""']) {
      const res = run(wl300, `{"wl":${bad},"rain":1.5}`);
      expect(res.rejects, bad).toMatchObject([{ reason: 'wrong_type', field: 'water_level_m' }]);
      expect(res.readings).toHaveLength(1);
      expect(res.readings[0]?.fields).toEqual({ rain_mm: 1.5 });
    }
  });

  it('numeric strings are accepted', () => {
    const res = run(wl300, '{"wl":"1234","rain":" 0.5 "}');
    expect(res.rejects).toEqual([]);
    expect(res.readings[0]?.fields).toEqual({ water_level_m: 1.234, rain_mm: 0.5 });
  });

  it('out of range, checked in canonical units against the metric or the model range', () => {
    const res = run(wl300, '{"wl":250000,"rain":-1,"bat":3600,"rssi":12}');
    expect(res.rejects.map((r) => [r.reason, r.field])).toEqual([
      ['out_of_range', 'water_level_m'],
      ['out_of_range', 'rain_mm'],
      ['out_of_range', 'rssi_dbm'],
    ]);
    expect(res.readings.map((r) => r.fields)).toEqual([{ battery_v: 3.6 }]);
    // riverwatch-fg2 narrows water level to its 0-20 m span (and -5 m below datum)
    const fg = run(fg2, '{"data":{"level":25}}');
    expect(fg.rejects).toMatchObject([{ reason: 'out_of_range', field: 'water_level_m' }]);
  });

  it('huge numbers are out of range, not crashes', () => {
    const res = run(wl300, '{"wl":1e308,"rain":-1e308}');
    expect(res.rejects.map((r) => r.reason)).toEqual(['out_of_range', 'out_of_range']);
  });

  it('missing fields are simply absent', () => {
    const res = run(wl300, '{"wl":500}');
    expect(res.rejects).toEqual([]);
    expect(byMeasurement(res.readings)).toEqual({
      flood: expect.objectContaining({ fields: { water_level_m: 0.5 } }),
    });
  });

  it('readPath reads own properties only, whatever the name', () => {
    const v = JSON.parse('{"a":{"b":1,"list":[1,2,3]},"own":{"__proto__":7,"constructor":8},"z":0,"n":null}');
    expect(readPath(v, ['a', 'b'])).toBe(1);
    expect(readPath(v, ['z'])).toBe(0);
    expect(readPath(v, ['n'])).toBeNull();
    expect(readPath(v, ['a', 'list', '1'])).toBe(2);
    expect(readPath(v, ['a', 'list', 'length'])).toBe(3); // own on an array
    expect(readPath(v, ['own', '__proto__'])).toBe(7); // JSON.parse makes an own property of it
    expect(readPath(v, ['own', 'constructor'])).toBe(8);
    for (const path of [
      ['constructor'],
      ['toString'],
      ['__proto__'],
      ['__proto__', 'toString'],
      ['a', 'list', 'map'],
      ['a', 'hasOwnProperty'],
      ['a', 'b', 'x'],
      ['n', 'x'],
      ['missing'],
    ]) {
      expect(readPath(v, path), path.join('.')).toBeUndefined();
    }
  });

  it('inherited properties are never read as fields', () => {
    const res = run(wl300, '{"__proto__":{"wl":1000},"rain":1}');
    expect(res.readings[0]?.fields).toEqual({ rain_mm: 1 });
  });
});

describe('json decoder: access events', () => {
  it('unknown vendor event code -> unknown_event', () => {
    for (const code of ['99', '"9"', '"granted"', 'null', '{"a":1}', '"constructor"']) {
      const res = run(ac100, `{"ts":1767225600,"code":${code}}`, 'event');
      expect(res.readings).toEqual([]);
      expect(res.rejects.map((r) => r.reason)).toEqual(['unknown_event']);
    }
    expect(run(ac100, '{"ts":1767225600}', 'event').rejects[0]?.reason).toBe('unknown_event');
  });

  it('string codes match numeric map keys; a bad door is a field reject, the event stays', () => {
    const res = run(ac100, `{"ts":1767225600,"code":"5","door":{"x":1}}`, 'event');
    expect(res.readings).toHaveLength(1);
    expect(res.readings[0]?.tags.event).toBe('door_forced');
    expect(res.readings[0]?.tags).not.toHaveProperty('door');
    expect(res.rejects).toMatchObject([{ reason: 'wrong_type', field: 'door' }]);
    const long = run(ac100, `{"ts":1767225600,"code":5,"door":"${'d'.repeat(65)}"}`, 'event');
    expect(long.rejects[0]?.reason).toBe('wrong_type');
  });

  it('an unknown method code keeps the event without a method tag', () => {
    const res = run(ac100, '{"ts":1767225600,"code":1,"door":1,"mode":9}', 'event');
    expect(res.rejects).toEqual([]);
    expect(res.readings[0]?.tags).toMatchObject({ event: 'granted', door: '1' });
    expect(res.readings[0]?.tags).not.toHaveProperty('method');
  });

  it('an event for a model without events -> unknown_event', () => {
    expect(run(wl300, '{"wl":1}', 'event').rejects[0]?.reason).toBe('unknown_event');
  });

  it('telemetry readings share the device base tags, frozen, so no sink can change what another sees', () => {
    const res = run(wl300, '{"wl":1000,"rssi":-80}');
    expect(res.readings).toHaveLength(2);
    const [a, b] = res.readings;
    expect(a?.tags).toBe(b?.tags);
    expect(Object.isFrozen(a?.tags)).toBe(true);
    expect(() => {
      (a?.tags as Record<string, string>).device = 'other';
    }).toThrow(TypeError);
  });
});
