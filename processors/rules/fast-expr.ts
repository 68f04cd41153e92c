import type { ASTNode } from '@marcbachmann/cel-js';

/**
 * A JavaScript closure for the common shape of rule expressions — numeric comparisons of metrics,
 * window variables, number literals and `device.attrs.*` with `+`/`-`, string (in)equality of map
 * fields such as `access.event`, combined with `&&`, `||`, `!` — evaluated without the CEL
 * interpreter. Same answers as CEL (fuzzed against it in test/processors/fast-expr.test.ts):
 * `undefined` where CEL raises an error (a missing variable or key), CEL's error-absorbing `&&` and
 * `||`. Where a value is not what the closure knows how to handle (a map field that is not a string
 * or number), it answers SLOW and the caller asks CEL. Expressions of any other shape get no
 * closure (undefined) and always run on CEL.
 */

export const SLOW = Symbol('slow');
type Value = number | string | boolean | undefined | typeof SLOW;
type Fn = (ctx: Record<string, unknown>) => Value;

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/** The map-typed variables of the rule context (expr.ts); every other variable is a double. */
const MAP_VARIABLES = new Set(['device', 'access', 'tags']);

export function fastExpr(ast: ASTNode): ((ctx: Record<string, unknown>) => Value) | undefined {
  return bool(ast) ?? num(ast);
}

function bool(n: ASTNode): Fn | undefined {
  switch (n.op) {
    case '&&':
    case '||': {
      const [l, r] = n.args as [ASTNode, ASTNode];
      const a = bool(l);
      const b = bool(r);
      if (!a || !b) return undefined;
      // CEL: false && error = false, true || error = true (either order); otherwise an error.
      const absorbing = n.op === '||';
      return (c) => {
        const x = a(c);
        if (x === absorbing) return absorbing;
        const y = b(c);
        if (y === absorbing) return absorbing;
        if (x === SLOW || y === SLOW) return SLOW;
        return x === !absorbing && y === !absorbing ? !absorbing : undefined;
      };
    }
    case '!_': {
      const a = bool(n.args as ASTNode);
      if (!a) return undefined;
      return (c) => {
        const x = a(c);
        return typeof x === 'boolean' ? !x : x;
      };
    }
    default:
      return comparison(n);
  }
}

function comparison(n: ASTNode): Fn | undefined {
  const cmp = COMPARE[n.op];
  if (!cmp) return undefined;
  const [l, r] = n.args as [ASTNode, ASTNode];
  const str = stringLiteral(r);
  if (str !== undefined && (n.op === '==' || n.op === '!=')) {
    const field = mapField(l);
    if (!field) return undefined;
    const eq = n.op === '==';
    return (c) => {
      const v = field(c);
      if (typeof v === 'string') return (v === str) === eq;
      return v === undefined ? undefined : SLOW;
    };
  }
  // CEL has no double == int (nor !=): left to CEL, which reports it.
  if ((n.op === '==' || n.op === '!=') && (isIntLiteral(l) || isIntLiteral(r))) return undefined;
  return numeric(l, r, cmp);
}

/** `op` over two number operands; an operand that is missing or not a number decides as above. */
function numeric(l: ASTNode, r: ASTNode, op: (x: number, y: number) => number | boolean): Fn | undefined {
  const a = num(l);
  const b = num(r);
  if (!a || !b) return undefined;
  return (c) => {
    const x = a(c);
    if (typeof x !== 'number') return x === undefined ? undefined : SLOW;
    const y = b(c);
    if (typeof y !== 'number') return y === undefined ? undefined : SLOW;
    return op(x, y);
  };
}

/** A number-valued operand. */
function num(n: ASTNode): Fn | undefined {
  switch (n.op) {
    case 'value': {
      const v = numberLiteral(n);
      return v === undefined ? undefined : () => v;
    }
    case '-_': {
      const inner = n.args as ASTNode;
      if (inner.op !== 'value') return undefined;
      const v = numberLiteral(inner);
      if (v === undefined) return undefined;
      // -0 as an int literal is 0 in CEL; as a double it stays -0.
      const neg = typeof inner.args === 'bigint' ? -v + 0 : -v;
      return () => neg;
    }
    case 'id': {
      const name = n.args as string;
      if (MAP_VARIABLES.has(name)) return undefined;
      return (c) => {
        const v = c[name];
        return typeof v === 'number' ? v : v === undefined ? undefined : SLOW;
      };
    }
    case '.':
      return mapField(n);
    case '+':
    case '-': {
      const [l, r] = n.args as [ASTNode, ASTNode];
      // Only double literals: CEL raises an error on double + int, which is not worth copying.
      if (isIntLiteral(l) || isIntLiteral(r)) return undefined;
      return numeric(l, r, n.op === '+' ? (x, y) => x + y : (x, y) => x - y);
    }
    default:
      return undefined;
  }
}

/** `access.event`, `device.attrs.danger_level_m`: a field of a map variable; undefined when a key is missing. */
function mapField(n: ASTNode): Fn | undefined {
  const path: string[] = [];
  let cur = n;
  while (cur.op === '.') {
    const [obj, key] = cur.args as [ASTNode, string];
    if (typeof key !== 'string') return undefined;
    path.unshift(key);
    cur = obj;
  }
  if (cur.op !== 'id' || path.length === 0) return undefined;
  const root = cur.args as string;
  if (!MAP_VARIABLES.has(root)) return undefined;
  return (c) => {
    let v: unknown = c[root];
    for (const k of path) {
      // Only what CEL itself treats as a map: a plain object (it looks at the constructor, so an
      // own `constructor` key, an array, a Map or a class instance goes to CEL).
      if (v === null || typeof v !== 'object') return SLOW;
      const ctor = (v as { constructor?: unknown }).constructor;
      if (ctor !== Object && ctor !== undefined) return SLOW;
      if (!Object.hasOwn(v, k)) return undefined;
      v = (v as Record<string, unknown>)[k];
    }
    return typeof v === 'number' || typeof v === 'string' ? v : SLOW;
  };
}

function numberLiteral(n: ASTNode): number | undefined {
  const v = n.args as unknown;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  return undefined;
}

function isIntLiteral(n: ASTNode): boolean {
  const v = n.op === '-_' ? (n.args as ASTNode) : n;
  return v.op === 'value' && typeof v.args === 'bigint';
}

function stringLiteral(n: ASTNode): string | undefined {
  return n.op === 'value' && typeof n.args === 'string' ? n.args : undefined;
}
