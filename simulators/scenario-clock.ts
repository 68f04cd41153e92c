/**
 * Maps wall-clock time to scenario time for a compressed run: `speed` scenario seconds pass per real
 * second (speed 60 plays one scenario hour in one real minute; speed 3600, one hour in one second).
 * Payload timestamps stay on the wall clock, so the gateway's timestamp sanity check accepts them
 * while the scenario (storm, working hours) plays out faster.
 */
export class ScenarioClock {
  constructor(
    readonly realStartMs: number,
    readonly scenarioStartMs: number,
    readonly speed: number,
  ) {
    if (!(speed > 0)) throw new RangeError('speed must be > 0');
  }

  scenarioAt(realMs: number): number {
    return this.scenarioStartMs + (realMs - this.realStartMs) * this.speed;
  }

  realAt(scenarioMs: number): number {
    return this.realStartMs + (scenarioMs - this.scenarioStartMs) / this.speed;
  }
}
