import { FAMILIES, type Family } from '../types.js';
import type { CompiledRule } from './compile.js';
import { internList } from './interned.js';

/**
 * Rules indexed at load by family and by the metric (or `@event`) that triggers them, so a reading
 * costs in proportion to the rules that could match it, not to the size of the rule set.
 */
export class RuleIndex {
  readonly rules: readonly CompiledRule[];
  readonly byId = new Map<string, CompiledRule>();
  /** `${family}|${metric}` or `${family}|@event` -> positions in `rules`. */
  private readonly triggers = new Map<string, number[]>();
  /**
   * The same, split by the district a rule's selector names exactly (`…|=鼓楼区`) and rules that
   * name none or a wildcard (`…|*`): most rule sets are per district, so a device's candidates
   * are its district's rules plus the city-wide ones, not every district's.
   */
  private readonly byDistrict = new Map<string, number[]>();
  readonly nodata = new Map<Family, CompiledRule[]>();
  /** Per family, the metrics some rule's expression reads from the context (a superset for any one device). */
  private readonly read = new Map<Family, Set<string>>();
  private readonly lists = new Map<string, readonly number[]>();

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules;
    rules.forEach((r, pos) => {
      this.byId.set(r.id, r);
      const families = r.spec.selector.family ?? FAMILIES;
      for (const fam of families) {
        if (r.kind === 'nodata') {
          const list = this.nodata.get(fam) ?? [];
          list.push(r);
          this.nodata.set(fam, list);
          continue;
        }
        const keys = new Set<string>();
        const read = this.read.get(fam) ?? new Set<string>();
        this.read.set(fam, read);
        const reads = (m: string) => {
          keys.add(`${fam}|${m}`);
          read.add(m);
        };
        if (r.kind === 'correlation') {
          for (const c of r.clauses) {
            if (c.family && c.family !== fam) continue;
            c.when.metrics.forEach(reads);
            if (c.when.events.length || c.when.source.includes('access.')) keys.add(`${fam}|@event`);
          }
        } else {
          r.metrics.forEach(reads);
          if (r.kind === 'event' || r.windows.some((w) => w.isEvent)) keys.add(`${fam}|@event`);
        }
        const d = r.spec.selector.location?.district;
        const scope = d !== undefined && !d.includes('*') ? `=${d}` : '*';
        for (const k of keys) {
          push(this.triggers, k, pos);
          push(this.byDistrict, `${k}|${scope}`, pos);
        }
      }
    });
  }

  /**
   * One frozen array per distinct list of positions: the devices of a district and family trigger
   * the same rules, so 100,000 devices hold a few dozen lists, not one each.
   */
  shared(positions: readonly number[]): readonly number[] {
    return positions.length === 0 ? NONE : internList(this.lists, positions);
  }

  /** Whether some rule of the family reads the metric: a reading's other fields need not reach the context. */
  reads(family: Family, metric: string): boolean {
    return this.read.get(family)?.has(metric) === true;
  }

  triggered(family: Family, metricOrEvent: string): readonly number[] | undefined {
    return this.triggers.get(`${family}|${metricOrEvent}`);
  }

  /** Candidates for a device of `district`: its district's rules and the unscoped ones, in rule order. */
  candidates(family: Family, metricOrEvent: string, district: string): readonly number[] {
    const key = `${family}|${metricOrEvent}`;
    const own = this.byDistrict.get(`${key}|=${district}`);
    const any = this.byDistrict.get(`${key}|*`);
    if (!own) return any ?? [];
    if (!any) return own;
    return [...own, ...any].sort((a, b) => a - b);
  }
}

const NONE: readonly number[] = Object.freeze([]);

function push(map: Map<string, number[]>, key: string, pos: number): void {
  const list = map.get(key);
  if (list) list.push(pos);
  else map.set(key, [pos]);
}
