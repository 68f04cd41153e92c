import { LOCATION_KEYS, type LocationPath } from '../types.js';

/**
 * Correlation state: for each rule + location (at the rule's scope level) and each clause, the
 * devices at which the clause last held and when. The location is active when every clause holds
 * at some device of it within the window.
 */
const SCOPES = new WeakMap<LocationPath, Map<keyof LocationPath, { key: string; location: LocationPath }>>();

export class CorrelationState {
  private readonly byLocation = new Map<string, Map<string, number>[]>();
  private readonly firstAt = new Map<string, number>();

  /**
   * `鼓楼区/南街街道/三坊社区` for scope `community`, and the location path with deeper levels blank.
   * Remembered per location object (a device's location is one object until the registry replaces
   * it): this runs for every reading a correlation rule sees. Callers must not change the result.
   */
  static scopeOf(loc: LocationPath, scope: keyof LocationPath): { key: string; location: LocationPath } {
    let byScope = SCOPES.get(loc);
    if (byScope === undefined) {
      byScope = new Map();
      SCOPES.set(loc, byScope);
    }
    let s = byScope.get(scope);
    if (s === undefined) {
      const fresh = CorrelationState.scopeOfUncached(loc, scope);
      s = Object.freeze({ key: fresh.key, location: Object.freeze(fresh.location) });
      byScope.set(scope, s);
    }
    return s;
  }

  private static scopeOfUncached(
    loc: LocationPath,
    scope: keyof LocationPath,
  ): { key: string; location: LocationPath } {
    const depth = LOCATION_KEYS.indexOf(scope);
    const location: LocationPath = { district: '', street: '', community: '', grid: '' };
    const parts: string[] = [];
    for (let i = 0; i <= depth; i++) {
      const k = LOCATION_KEYS[i]!;
      location[k] = loc[k];
      parts.push(loc[k]);
    }
    return { key: parts.join('/'), location };
  }

  record(key: string, clauses: number, clause: number, deviceId: string, holds: boolean, at: number): void {
    let state = this.byLocation.get(key);
    if (!state) {
      state = Array.from({ length: clauses }, () => new Map<string, number>());
      this.byLocation.set(key, state);
      this.firstAt.set(key, at);
    }
    if (holds) state[clause]!.set(deviceId, at);
    else state[clause]!.delete(deviceId);
  }

  /**
   * Whether this location has been observed for a whole window. Correlation state is not persisted:
   * after a restart an open incident must not resolve merely because the engine forgot what it saw.
   */
  warm(key: string, now: number, windowMs: number): boolean {
    const first = this.firstAt.get(key);
    return first !== undefined && now - first >= windowMs;
  }

  active(key: string, now: number, windowMs: number): boolean {
    const state = this.byLocation.get(key);
    if (!state) return false;
    for (const devices of state) {
      let any = false;
      for (const at of devices.values()) {
        if (now - at <= windowMs) {
          any = true;
          break;
        }
      }
      if (!any) return false;
    }
    return true;
  }
}
