import { FAMILIES, type Family } from '../types.js';
import type { CompiledRule } from './compile.js';

/**
 * Rules indexed at load by family and by the metric (or `@event`) that triggers them, so a reading
 * costs in proportion to the rules that could match it, not to the size of the rule set.
 */
export class RuleIndex {
  readonly rules: readonly CompiledRule[];
  readonly byId = new Map<string, CompiledRule>();
  /** `${family}|${metric}` or `${family}|@event` -> positions in `rules`. */
  private readonly triggers = new Map<string, number[]>();
  readonly nodata = new Map<Family, CompiledRule[]>();
  /** Last reading sequence that considered each rule: dedups a rule reached through two metrics. */
  readonly marks: Float64Array;

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules;
    this.marks = new Float64Array(rules.length).fill(-1);
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
        if (r.kind === 'correlation') {
          for (const c of r.clauses) {
            if (c.family && c.family !== fam) continue;
            for (const m of c.when.metrics) keys.add(`${fam}|${m}`);
            if (c.when.events.length || c.when.source.includes('access.')) keys.add(`${fam}|@event`);
          }
        } else {
          for (const m of r.metrics) keys.add(`${fam}|${m}`);
          if (r.kind === 'event' || r.windows.some((w) => w.isEvent)) keys.add(`${fam}|@event`);
        }
        for (const k of keys) {
          const list = this.triggers.get(k) ?? [];
          list.push(pos);
          this.triggers.set(k, list);
        }
      }
    });
  }

  triggered(family: Family, metricOrEvent: string): readonly number[] | undefined {
    return this.triggers.get(`${family}|${metricOrEvent}`);
  }
}
