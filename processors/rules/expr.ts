import { type ASTNode, Environment, serialize } from '@marcbachmann/cel-js';
import { ACCESS_EVENTS, isMetricName, METRICS } from '../metrics/catalogue.js';
import { parseDuration } from './duration.js';
import { fastExpr, SLOW } from './fast-expr.js';

/**
 * Rule expressions are CEL (cel-spec, via @marcbachmann/cel-js): parsed and type-checked once, no
 * eval. Window calls such as `avg(pm10_ugm3, 15m)` are not CEL the evaluator can compute, so a
 * pre-pass quotes the duration (`15m` -> "15m"), the library's AST finds each window call, and the
 * call is replaced by a variable (`__w_avg_pm10_ugm3_900000`) that the engine fills from its
 * incremental window state before evaluating.
 */

export const WINDOW_FUNCTIONS = ['avg', 'min', 'max', 'count', 'sum', 'delta', 'rate'] as const;
export type WindowFn = (typeof WINDOW_FUNCTIONS)[number];

export interface WindowSpec {
  /** Variable name bound in the evaluation context; equal specs share one window. */
  name: string;
  fn: WindowFn;
  /** A metric, or an access event name (`count(denied, 5m)` counts `denied` events). */
  source: string;
  isEvent: boolean;
  durationMs: number;
}

export type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';

export interface CompiledExpr {
  source: string;
  run: (ctx: Record<string, unknown>) => unknown;
  windows: WindowSpec[];
  /** Metrics the expression reads directly or through a window. */
  metrics: string[];
  /** Access events counted by windows. */
  events: string[];
  /** For `value OP threshold` (or the first conjunct of an `&&`): the parts a summary shows. */
  comparison?: { op: Comparison; value: CompiledExpr; threshold: CompiledExpr };
  /** Evaluated by a JavaScript closure (fast-expr.ts) rather than the CEL interpreter. */
  native?: boolean;
  /** The metric the expression is about, when it is a bare metric or a window over one. */
  metric?: string;
  windowFn?: WindowFn;
}

export class ExprError extends Error {}

const base = (() => {
  const env = new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false });
  for (const name of Object.keys(METRICS)) env.registerVariable(name, 'double');
  env.registerVariable('device', 'map');
  env.registerVariable('access', 'map');
  env.registerVariable('tags', 'map');
  return env;
})();

// A string literal (skipped) or a duration after a comma: the only place a duration may stand.
const PREPASS = /("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(,\s*)(\d+(?:\.\d+)?(?:ms|s|m|h|d))\b/g;

export function quoteDurations(text: string): string {
  return text.replace(PREPASS, (all, str: string | undefined, comma: string, dur: string) =>
    str !== undefined ? all : `${comma}"${dur}"`,
  );
}

export function windowVarName(fn: WindowFn, source: string, durationMs: number): string {
  return `__w_${fn}_${source}_${durationMs}`;
}

/**
 * Compile one expression; throws ExprError with a message a rule author can act on. Expressions of
 * the common shapes also get a plain JavaScript closure (fast-expr.ts) that answers as CEL does;
 * `fast: false` keeps them on the CEL interpreter (the test suite compares the two).
 */
export function compileExpr(text: string, fast = true): CompiledExpr {
  const quoted = quoteDurations(text);
  let ast: ASTNode;
  try {
    ast = base.parse(quoted).ast;
  } catch (err) {
    throw new ExprError(firstLine(err));
  }
  const windows = new Map<string, WindowSpec>();
  const cuts: { start: number; end: number; name: string }[] = [];
  visit(ast, (node) => {
    if (node.op !== 'call') return true;
    const [fname, args] = node.args as [string, ASTNode[]];
    if (!(WINDOW_FUNCTIONS as readonly string[]).includes(fname)) return true;
    const fn = fname as WindowFn;
    const [src, dur] = args;
    if (args.length !== 2 || src?.op !== 'id' || dur?.op !== 'value' || typeof dur.args !== 'string') {
      throw new ExprError(`${fname}() takes a metric and a duration, e.g. ${fname}(pm10_ugm3, 15m)`);
    }
    const source = src.args as string;
    const isEvent = (ACCESS_EVENTS as readonly string[]).includes(source);
    if (!isEvent && !isMetricName(source)) {
      throw new ExprError(
        `${fname}(${source}, …): "${source}" is neither a canonical metric nor an access event`,
      );
    }
    if (isEvent && fn !== 'count')
      throw new ExprError(`only count() applies to an access event ("${source}")`);
    const durationMs = parseDuration(dur.args);
    if (durationMs === undefined || durationMs <= 0) throw new ExprError(`"${dur.args}" is not a duration`);
    const name = windowVarName(fn, source, durationMs);
    windows.set(name, { name, fn, source, isEvent, durationMs });
    cuts.push({ start: node.start, end: node.end, name });
    return false;
  });
  let rewritten = quoted;
  for (const c of cuts.sort((a, b) => b.start - a.start)) {
    rewritten = rewritten.slice(0, c.start) + c.name + rewritten.slice(c.end);
  }
  return finish(text, rewritten, windows, fast);
}

/**
 * The environment an expression is parsed in: the base one, plus a variable per window it uses.
 * Shared by every expression with the same windows (an environment is never changed once an
 * expression is parsed in it): a clone per expression cost ~10 kB each, 12 MB for 1,000 rules.
 */
const envs = new Map<string, Environment>();
function envFor(windows: readonly WindowSpec[]): Environment {
  if (windows.length === 0) return base;
  const key = windows
    .map((w) => w.name)
    .sort()
    .join(',');
  let env = envs.get(key);
  if (env === undefined) {
    if (envs.size >= 1000) envs.clear(); // bounded across hot reloads; a miss only clones again
    env = base.clone();
    for (const w of windows) env.registerVariable(w.name, 'double');
    envs.set(key, env);
  }
  return env;
}

function finish(
  source: string,
  rewritten: string,
  allWindows: Map<string, WindowSpec>,
  fast: boolean,
): CompiledExpr {
  const used = [...allWindows.values()].filter((w) => rewritten.includes(w.name));
  const env = envFor(used);
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(rewritten);
  } catch (err) {
    throw new ExprError(firstLine(err));
  }
  const checked = parsed.check();
  if (!checked.valid) throw new ExprError(firstLine(checked.error));
  const ids = new Set<string>();
  visit(parsed.ast, (n) => {
    if (n.op === 'id') ids.add(n.args as string);
    return true;
  });
  const metrics = new Set<string>([...ids].filter(isMetricName));
  const events: string[] = [];
  for (const w of used) {
    if (w.isEvent) events.push(w.source);
    else metrics.add(w.source);
  }
  const quick = fast ? fastExpr(parsed.ast) : undefined;
  const run = quick
    ? (ctx: Record<string, unknown>) => {
        const v = quick(ctx);
        return v === SLOW ? parsed(ctx) : v;
      }
    : parsed;
  const out: CompiledExpr = { source, run, windows: used, metrics: [...metrics], events };
  if (quick) out.native = true;
  const ast = parsed.ast;
  if (ast.op === 'id') {
    const name = ast.args as string;
    const w = allWindows.get(name);
    if (w && !w.isEvent) {
      out.metric = w.source;
      out.windowFn = w.fn;
    } else if (isMetricName(name)) out.metric = name;
  }
  const cmp = comparisonOf(ast);
  if (cmp) {
    out.comparison = {
      op: cmp.op,
      value: finish(restore(serialize(cmp.left), allWindows), serialize(cmp.left), allWindows, fast),
      threshold: finish(restore(serialize(cmp.right), allWindows), serialize(cmp.right), allWindows, fast),
    };
  }
  return out;
}

const COMPARISONS = new Set(['>', '>=', '<', '<=', '==', '!=']);

function comparisonOf(ast: ASTNode): { op: Comparison; left: ASTNode; right: ASTNode } | undefined {
  if (ast.op === '&&') return comparisonOf((ast.args as [ASTNode, ASTNode])[0]);
  if (!COMPARISONS.has(ast.op)) return undefined;
  const [left, right] = ast.args as [ASTNode, ASTNode];
  return { op: ast.op as Comparison, left, right };
}

/** Put window calls back into a fragment, for messages and summaries. */
function restore(text: string, windows: Map<string, WindowSpec>): string {
  let out = text;
  for (const w of windows.values()) {
    out = out.split(w.name).join(`${w.fn}(${w.source}, ${formatMs(w.durationMs)})`);
  }
  return out;
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function visit(node: ASTNode, fn: (n: ASTNode) => boolean): void {
  if (!fn(node)) return;
  const a = node.args as unknown;
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    else if (x && typeof x === 'object' && 'op' in x && 'args' in x) visit(x as ASTNode, fn);
  };
  walk(a);
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

/** Evaluate to a boolean; undefined when the expression cannot be evaluated (a missing attribute or metric). */
export function evalBool(e: CompiledExpr, ctx: Record<string, unknown>): boolean | undefined {
  try {
    const v = e.run(ctx);
    return typeof v === 'boolean' ? v : undefined;
  } catch {
    return undefined;
  }
}

export function evalNumber(e: CompiledExpr, ctx: Record<string, unknown>): number | undefined {
  try {
    const v = e.run(ctx);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    return undefined;
  } catch {
    return undefined;
  }
}
