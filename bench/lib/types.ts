/** One row of the results table. Absent numbers print as '—'; `note` says why. */
export interface Row {
  scenario: string;
  system: string;
  msgsPerS?: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  cpuPct?: number;
  peakRssMb?: number;
  /** msgs/s of this row / msgs/s of its baseline row, measured in the same run. */
  ratio?: number;
  note?: string;
  /** Everything else measured (published, delivered %, database CPU, ...), for the JSON file. */
  detail?: Record<string, unknown>;
}

export interface BenchContext {
  dir: string;
  vmUrl: string;
  vmPid: number;
  redisUrl: string;
  mosquittoUrl: string;
  mosquittoPid: number;
  /** Devices in the MQTT load fleet. */
  devices: number;
  /** Seconds of load per throughput run. */
  durationS: number;
  /** Offered load, msgs/s: above what anything here can take, so runs saturate. */
  offeredRate: number;
  /** Messages per burst run of scenario 2. */
  burstMessages: number;
  /** YAML device file holding the load fleet (and the latency probe, and HJ 212 stations). */
  fleetFile: string;
  /**
   * Load-worker counts tried for every system in scenarios 1 and 2; each system's row is its best.
   * One worker caps near 87k msg/s on this box, under what a bare baseline takes in, so the
   * default also tries two: otherwise the baseline would measure the load, not the machine.
   */
  workers: number[];
  log(msg: string): void;
}
