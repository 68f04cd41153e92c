/**
 * Air quality index per HJ 633-2012 Table 1 (IAQI breakpoints; 1-hour limits for SO2, NO2, CO and
 * O3, 24-hour limits for PM10 and PM2.5 as stations report a running value). AQI = max IAQI.
 * Used by the simulators so a station's reported AQI agrees with its own concentrations.
 */
const IAQI = [0, 50, 100, 150, 200, 300, 400, 500] as const;

const BREAKPOINTS = {
  so2_ugm3: [0, 150, 500, 650, 800], // 1 h; above 800 the standard switches to the 24 h value
  no2_ugm3: [0, 100, 200, 700, 1200, 2340, 3090, 3840],
  pm10_ugm3: [0, 50, 150, 250, 350, 420, 500, 600],
  co_mgm3: [0, 5, 10, 35, 60, 90, 120, 150],
  o3_ugm3: [0, 160, 200, 300, 400, 800, 1000, 1200],
  pm25_ugm3: [0, 35, 75, 115, 150, 250, 350, 500],
} as const;

export type AqiPollutant = keyof typeof BREAKPOINTS;

/** IAQI of one pollutant concentration, linear between breakpoints (HJ 633-2012 formula 1). */
export function iaqi(pollutant: AqiPollutant, c: number): number {
  const bp: readonly number[] = BREAKPOINTS[pollutant];
  if (c <= 0) return 0;
  for (let i = 1; i < bp.length; i++) {
    const hi = bp[i] as number;
    if (c <= hi) {
      const lo = bp[i - 1] as number;
      const iLo = IAQI[i - 1] as number;
      const iHi = IAQI[i] as number;
      return ((iHi - iLo) / (hi - lo)) * (c - lo) + iLo;
    }
  }
  return IAQI[bp.length - 1] as number;
}

/** AQI of whatever pollutants `c` holds; other keys are ignored. */
export function aqi(c: Partial<Record<string, number>>): number {
  let max = 0;
  for (const k of Object.keys(BREAKPOINTS) as AqiPollutant[]) {
    const v = c[k];
    if (v !== undefined) max = Math.max(max, iaqi(k, v));
  }
  return Math.ceil(max);
}
