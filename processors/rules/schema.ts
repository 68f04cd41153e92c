import { z } from 'zod';
import { SEVERITIES } from '../alerts/event.js';
import { FAMILIES, LOCATION_KEYS } from '../types.js';
import { parseDuration } from './duration.js';

/**
 * The rule file schema, declared once; the TypeScript types are derived from it. A rule file is
 * `rules: [ ... ]`. Expressions are CEL strings, checked later by compile.ts.
 */

const duration = z.string().transform((s, ctx) => {
  const ms = parseDuration(s);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration (write e.g. 30s, 15m, 2h, 1d)` });
    return z.NEVER;
  }
  return ms;
});

const oneOrMany = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

export const severitySchema = z.enum(SEVERITIES);

/** Location levels to match; `*` and a trailing `*` are wildcards (`鼓楼*`). Missing levels match anything. */
const locationSelector = z.strictObject(
  Object.fromEntries(LOCATION_KEYS.map((k) => [k, z.string().min(1).optional()])) as Record<
    (typeof LOCATION_KEYS)[number],
    z.ZodOptional<z.ZodString>
  >,
);

export const selectorSchema = z.strictObject({
  family: z
    .union([z.enum(FAMILIES), z.array(z.enum(FAMILIES)).min(1)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional(),
  model: oneOrMany.optional(),
  /** Device labels that must all be equal (value `*`: present with any value). */
  labels: z.record(z.string(), z.string()).optional(),
  location: locationSelector.optional(),
});

const expr = z.string().min(1);

const levelSchema = z.strictObject({
  severity: severitySchema,
  when: expr,
  /** What the summary shows as the threshold; derived from `when` (`x >= t`) when absent. */
  threshold: expr.optional(),
});

const conditionSchema = z.union([
  expr,
  z.strictObject({
    levels: z.array(levelSchema).min(1),
  }),
]);

const correlationSchema = z.strictObject({
  /** Devices sharing this location level are correlated (`community`: same district/street/community). */
  scope: z.enum(LOCATION_KEYS),
  /** Every clause must hold at some device of the location within this window. */
  window: duration,
  all: z
    .array(
      z.strictObject({
        family: z.enum(FAMILIES).optional(),
        when: expr,
      }),
    )
    .min(2),
});

export const ruleSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-" only'),
    name: z.string().min(1),
    description: z.string().default(''),
    selector: selectorSchema.default({}),
    mode: z.enum(['live', 'shadow']).default('live'),
    condition: conditionSchema.optional(),
    event: expr.optional(),
    nodata: duration.optional(),
    correlation: correlationSchema.optional(),
    /** Severity of a rule with a single level (`condition` as a string, `event`, `nodata`, `correlation`). */
    severity: severitySchema.optional(),
    /** Reported value / threshold when they cannot be derived from the condition. */
    value: expr.optional(),
    threshold: expr.optional(),
    /** Reading tags that split a device's incidents (`[door]`: one per door of a controller). */
    by: z.array(z.string().min(1)).default([]),
    for: duration.default(0),
    /** Hysteresis: once firing, the incident only clears when this holds (default: no level holds). */
    clear: expr.optional(),
    keepFiringFor: duration.default(0),
    /** Event rules: resolve after this long without a matching event (unless `clear` matches first). */
    resolveAfter: duration.default(300_000),
    flap: z.strictObject({ count: z.number().int().min(2), window: duration }).optional(),
    repeatInterval: duration.optional(),
    ackWithin: duration.optional(),
    labels: z.record(z.string(), z.string()).default({}),
  })
  .superRefine((r, ctx) => {
    const kinds = (['condition', 'event', 'nodata', 'correlation'] as const).filter(
      (k) => r[k] !== undefined,
    );
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a rule needs exactly one of condition, event, nodata, correlation (found ${kinds.length ? kinds.join(', ') : 'none'})`,
        path: [],
      });
    }
    const multiLevel = typeof r.condition === 'object';
    if (multiLevel && r.severity !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'give `severity` per level, not on the rule',
        path: ['severity'],
      });
    }
    if (!multiLevel && kinds.length === 1 && r.severity === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: '`severity` is required (blue, yellow, orange or red)',
        path: ['severity'],
      });
    }
    if (multiLevel) {
      const seen = new Set<string>();
      (r.condition as { levels: { severity: string }[] }).levels.forEach((l, i) => {
        if (seen.has(l.severity)) {
          ctx.addIssue({
            code: 'custom',
            message: `severity ${l.severity} appears twice`,
            path: ['condition', 'levels', i, 'severity'],
          });
        }
        seen.add(l.severity);
      });
    }
  });

export const ruleFileSchema = z.strictObject({ rules: z.array(z.unknown()).default([]) });

export type RuleSpec = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type Selector = z.output<typeof selectorSchema>;
export type LevelSpec = z.output<typeof levelSchema>;
