import { SEVERITIES, type Severity } from '../alerts/event.js';
import { isMetricName, METRICS } from '../metrics/catalogue.js';
import type { Family, LocationPath } from '../types.js';
import { type CompiledExpr, compileExpr, ExprError, type WindowFn, type WindowSpec } from './expr.js';
import type { Timing } from './lifecycle.js';
import type { RuleSpec } from './schema.js';
import { compileSelector, type DeviceMatcher } from './selector.js';

export type RuleKind = 'condition' | 'event' | 'nodata' | 'correlation';

export interface CompiledLevel {
  severity: Severity;
  rank: number;
  /** Absent for nodata and correlation rules, whose single level is raised by the engine itself. */
  when?: CompiledExpr;
  value?: CompiledExpr;
  threshold?: CompiledExpr;
  op?: string;
}

export interface CompiledClause {
  family?: Family;
  when: CompiledExpr;
}

export interface CompiledRule {
  id: string;
  spec: RuleSpec;
  kind: RuleKind;
  /** Highest severity first: the first level that holds is the rule's current severity. */
  levels: CompiledLevel[];
  clear?: CompiledExpr;
  clauses: CompiledClause[];
  windows: WindowSpec[];
  /** Metrics whose arrival triggers an evaluation (the rule index keys). */
  metrics: string[];
  metric?: string;
  windowFn?: WindowFn;
  unit?: string;
  matches: DeviceMatcher;
  scope?: keyof LocationPath;
  timing: Timing;
}

export interface CompileProblem {
  /** Path inside the rule object, for the loader to turn into a line number. */
  path: (string | number)[];
  message: string;
}

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

/** Compile one validated rule; every expression problem is collected, none thrown. */
export function compileRule(spec: RuleSpec): { rule?: CompiledRule; problems: CompileProblem[] } {
  const problems: CompileProblem[] = [];
  const tryExpr = (text: string | undefined, path: (string | number)[]): CompiledExpr | undefined => {
    if (text === undefined) return undefined;
    try {
      return compileExpr(text);
    } catch (err) {
      problems.push({ path, message: err instanceof ExprError ? err.message : String(err) });
      return undefined;
    }
  };
  const value = tryExpr(spec.value, ['value']);
  const threshold = tryExpr(spec.threshold, ['threshold']);
  const clear = tryExpr(spec.clear, ['clear']);
  const levels: CompiledLevel[] = [];
  const clauses: CompiledClause[] = [];
  let kind: RuleKind;
  if (spec.condition !== undefined) {
    kind = 'condition';
    const raw =
      typeof spec.condition === 'string'
        ? [{ severity: spec.severity!, when: spec.condition, path: ['condition'] as (string | number)[] }]
        : spec.condition.levels.map((l, i) => ({ ...l, path: ['condition', 'levels', i, 'when'] }));
    for (const l of raw) {
      const when = tryExpr(l.when, l.path);
      if (!when) continue;
      const thr =
        'threshold' in l && typeof l.threshold === 'string'
          ? tryExpr(l.threshold, [...l.path.slice(0, -1), 'threshold'])
          : undefined;
      levels.push({
        severity: l.severity,
        rank: severityRank(l.severity),
        when,
        value: value ?? when.comparison?.value,
        threshold: thr ?? threshold ?? when.comparison?.threshold,
        op: when.comparison?.op,
      });
    }
  } else if (spec.event !== undefined) {
    kind = 'event';
    const when = tryExpr(spec.event, ['event']);
    if (when) {
      levels.push({
        severity: spec.severity!,
        rank: severityRank(spec.severity!),
        when,
        value: value ?? when.comparison?.value,
        threshold: threshold ?? when.comparison?.threshold,
        op: when.comparison?.op,
      });
    }
  } else if (spec.nodata !== undefined) {
    kind = 'nodata';
    levels.push({ severity: spec.severity!, rank: severityRank(spec.severity!) });
  } else {
    kind = 'correlation';
    levels.push({ severity: spec.severity!, rank: severityRank(spec.severity!) });
    spec.correlation!.all.forEach((c, i) => {
      const when = tryExpr(c.when, ['correlation', 'all', i, 'when']);
      if (when) clauses.push({ family: c.family, when });
    });
  }
  if (problems.length) return { problems };
  levels.sort((a, b) => b.rank - a.rank);
  const exprs = [
    ...levels.flatMap((l) => [l.when, l.value, l.threshold]),
    clear,
    ...clauses.map((c) => c.when),
  ];
  const windows = new Map<string, WindowSpec>();
  const metrics = new Set<string>();
  for (const e of exprs) {
    if (!e) continue;
    for (const w of e.windows) windows.set(w.name, w);
    for (const m of e.metrics) metrics.add(m);
  }
  const main = levels[0]?.value ?? levels[0]?.when;
  const metric = main?.metric;
  const rule: CompiledRule = {
    id: spec.id,
    spec,
    kind,
    levels,
    clear,
    clauses,
    windows: [...windows.values()],
    metrics: [...metrics],
    metric,
    windowFn: main?.windowFn,
    unit: metric && isMetricName(metric) ? unitOf(metric, main?.windowFn) : undefined,
    matches: compileSelector(spec.selector),
    scope: spec.correlation?.scope,
    timing: {
      forMs: spec.for,
      keepFiringForMs: spec.keepFiringFor,
      flap: spec.flap ? { count: spec.flap.count, windowMs: spec.flap.window } : undefined,
      repeatMs: spec.repeatInterval,
      resolveAfterMs: kind === 'event' ? spec.resolveAfter : undefined,
      ackWithinMs: spec.ackWithin,
    },
  };
  return { rule, problems };
}

function unitOf(metric: string, fn: WindowFn | undefined): string | undefined {
  if (!isMetricName(metric)) return undefined;
  const unit: string = METRICS[metric].unit;
  if (fn === 'count') return 'count';
  if (fn === 'rate') return `${unit}/h`;
  return unit;
}
