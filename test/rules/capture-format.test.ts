import { describe, expect, it } from 'vitest';
import { CaptureFormatter, CaptureParser, parseCaptureLine } from '../../processors/rules/capture-format.js';
import type { Device, Reading } from '../../processors/types.js';

const dev = (attrs: Record<string, number>): Device => ({
  id: 'wl-1',
  model: 'hydrotek-wl300',
  family: 'flood',
  location: { district: '鼓楼区', street: 's', community: 'c', grid: 'g' },
  state: 'active',
  attrs,
  labels: {},
  cameras: [],
});
const reading = (t: number): Reading => ({
  device: 'wl-1',
  measurement: 'flood',
  time: t,
  fields: { water_level_m: 2 },
  tags: { device: 'wl-1' },
});

describe('capture format', () => {
  it('writes the device record on its first line and whenever it changes, and reads every line back', () => {
    const f = new CaptureFormatter();
    const d1 = dev({ danger_level_m: 3 });
    const d2 = dev({ danger_level_m: 2.8 });
    const lines = [f.line(reading(1), d1), f.line(reading(2), d1), f.line(reading(3), d2)];
    expect(lines.map((l) => l.includes('"device":{'))).toEqual([true, false, true]);
    const p = new CaptureParser();
    const back = lines.map((l) => p.parse(l));
    expect(back.map((b) => b?.reading.time)).toEqual([1, 2, 3]);
    expect(back.map((b) => b?.device.attrs.danger_level_m)).toEqual([3, 3, 2.8]);
  });

  it('counts a line whose device was never described, and garbage, as unreadable', () => {
    const p = new CaptureParser();
    expect(p.parse(JSON.stringify({ reading: reading(1) }))).toBeUndefined();
    expect(p.parse('{not json')).toBeUndefined();
    expect(parseCaptureLine(new CaptureFormatter().line(reading(5), dev({})))?.reading.time).toBe(5);
  });
});
