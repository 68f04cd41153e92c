/**
 * Units a vendor may report in. Each unit is (dimension, factor, offset) relative to its
 * dimension's base unit, so any source unit converts to any canonical unit of the same dimension
 * (mm -> m for a water level, mm -> mm for rainfall, degF -> C). Adding a unit is one line.
 */
export type Converter = (v: number) => number;

type Dimension =
  | 'length'
  | 'voltage'
  | 'mass_conc'
  | 'sound'
  | 'speed'
  | 'angle'
  | 'temperature'
  | 'ratio'
  | 'power'
  | 'frame_rate'
  | 'bit_rate'
  | 'video_level'
  | 'none';

interface UnitDef {
  dim: Dimension;
  /** base = value * factor + offset */
  factor: number;
  offset?: number;
}

export const UNITS = {
  m: { dim: 'length', factor: 1 },
  cm: { dim: 'length', factor: 0.01 },
  mm: { dim: 'length', factor: 0.001 },
  '0.1mm': { dim: 'length', factor: 0.0001 },
  ft: { dim: 'length', factor: 0.3048 },
  in: { dim: 'length', factor: 0.0254 },
  V: { dim: 'voltage', factor: 1 },
  mV: { dim: 'voltage', factor: 0.001 },
  ugm3: { dim: 'mass_conc', factor: 1 },
  'ug/m3': { dim: 'mass_conc', factor: 1 },
  mgm3: { dim: 'mass_conc', factor: 1000 },
  'mg/m3': { dim: 'mass_conc', factor: 1000 },
  dBA: { dim: 'sound', factor: 1 },
  'dB(A)': { dim: 'sound', factor: 1 },
  ms: { dim: 'speed', factor: 1 },
  'm/s': { dim: 'speed', factor: 1 },
  'km/h': { dim: 'speed', factor: 1 / 3.6 },
  deg: { dim: 'angle', factor: 1 },
  C: { dim: 'temperature', factor: 1 },
  degC: { dim: 'temperature', factor: 1 },
  degF: { dim: 'temperature', factor: 5 / 9, offset: (-32 * 5) / 9 },
  K: { dim: 'temperature', factor: 1, offset: -273.15 },
  pct: { dim: 'ratio', factor: 1 },
  '%': { dim: 'ratio', factor: 1 },
  permille: { dim: 'ratio', factor: 0.1 },
  /** A plain fraction (0.45): 45 pct. */
  ratio: { dim: 'ratio', factor: 100 },
  dBm: { dim: 'power', factor: 1 },
  fps: { dim: 'frame_rate', factor: 1 },
  kbps: { dim: 'bit_rate', factor: 1 },
  bps: { dim: 'bit_rate', factor: 0.001 },
  Mbps: { dim: 'bit_rate', factor: 1000 },
  /** An 8-bit video sample value (0-255), as ffmpeg's signalstats reports luma and chroma. */
  level: { dim: 'video_level', factor: 1 },
  bool: { dim: 'none', factor: 1 },
  index: { dim: 'none', factor: 1 },
  count: { dim: 'none', factor: 1 },
} as const satisfies Record<string, UnitDef>;

export type Unit = keyof typeof UNITS;
export type CanonicalUnit =
  | 'm'
  | 'mm'
  | 'V'
  | 'ugm3'
  | 'mgm3'
  | 'dBA'
  | 'ms'
  | 'deg'
  | 'C'
  | 'pct'
  | 'dBm'
  | 'fps'
  | 'kbps'
  | 'level'
  | 'ratio'
  | 'bool'
  | 'index'
  | 'count';

export function isUnit(u: string): u is Unit {
  return Object.hasOwn(UNITS, u);
}

/** A converter from `source` to `target`; throws (at model load, never on the hot path) if they differ in dimension. */
export function unitConverter(source: Unit, target: Unit): Converter {
  const s: UnitDef = UNITS[source];
  const t: UnitDef = UNITS[target];
  if (s.dim !== t.dim)
    throw new Error(`unit '${source}' (${s.dim}) cannot convert to '${target}' (${t.dim})`);
  if (s.factor === t.factor && (s.offset ?? 0) === (t.offset ?? 0)) return (v) => v;
  const k = s.factor / t.factor;
  const c = ((s.offset ?? 0) - (t.offset ?? 0)) / t.factor;
  return (v) => v * k + c;
}
