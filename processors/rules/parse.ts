import { LineCounter, parseDocument } from 'yaml';
import { locateYamlPath } from '../yaml-locate.js';
import { type CompiledRule, compileRule } from './compile.js';
import { ruleFileSchema, ruleSchema } from './schema.js';

/** One problem in a rule file, located so an ops engineer can jump to it. */
export interface RuleFileError {
  file: string;
  line: number;
  col: number;
  ruleId?: string;
  /** Dotted path inside the rule (`condition.levels.1.when`). */
  path: string;
  message: string;
}

export interface RuleSet {
  rules: CompiledRule[];
  /** Which file each rule came from. */
  sources: Map<string, string>;
}

export function formatRuleError(e: RuleFileError): string {
  const where = `${e.file}:${e.line}:${e.col}`;
  const rule = e.ruleId ? ` rule ${e.ruleId}` : '';
  const path = e.path ? ` (${e.path})` : '';
  return `${where}${rule}${path}: ${e.message}`;
}

/**
 * Parse and compile rule files: every error of every file, at once (fastify's
 * initial-config-validation style), each with file, line and rule id. Pure: the caller reads files.
 */
export function parseRuleFiles(files: readonly { path: string; text: string }[]): {
  set: RuleSet;
  errors: RuleFileError[];
} {
  const errors: RuleFileError[] = [];
  const rules: CompiledRule[] = [];
  const sources = new Map<string, string>();
  /** Where each id was first defined (`file:line`), valid or not: duplicates are found in one run. */
  const firstSeen = new Map<string, string>();
  for (const f of files) {
    const lc = new LineCounter();
    const doc = parseDocument(f.text, { lineCounter: lc, prettyErrors: false });
    const at = (offset: number) => lc.linePos(offset);
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const p = at(e.pos[0]);
        errors.push({ file: f.path, line: p.line, col: p.col, path: '', message: e.message.split('\n')[0]! });
      }
      continue;
    }
    const top = ruleFileSchema.safeParse(doc.toJS() ?? {});
    if (!top.success) {
      for (const i of top.error.issues) {
        const p = at(locateYamlPath(doc.contents, i.path as (string | number)[]));
        errors.push({ file: f.path, line: p.line, col: p.col, path: i.path.join('.'), message: i.message });
      }
      continue;
    }
    top.data.rules.forEach((raw, idx) => {
      const ruleId =
        raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string'
          ? (raw as { id: string }).id
          : undefined;
      const push = (path: (string | number)[], message: string) => {
        const p = at(locateYamlPath(doc.contents, ['rules', idx, ...path]));
        errors.push({ file: f.path, line: p.line, col: p.col, ruleId, path: path.join('.'), message });
      };
      // A duplicate id is a problem of its own, reported with the rule's other problems, not only
      // once they are fixed.
      const prev = ruleId !== undefined ? firstSeen.get(ruleId) : undefined;
      if (prev !== undefined) push(['id'], `duplicate rule id (first defined in ${prev})`);
      else if (ruleId !== undefined) {
        firstSeen.set(ruleId, `${f.path}:${at(locateYamlPath(doc.contents, ['rules', idx])).line}`);
      }
      const parsed = ruleSchema.safeParse(raw);
      if (!parsed.success) {
        for (const i of parsed.error.issues) push(i.path as (string | number)[], i.message);
        return;
      }
      const { rule, problems } = compileRule(parsed.data);
      for (const pr of problems) push(pr.path, pr.message);
      if (!rule || prev !== undefined) return;
      sources.set(rule.id, f.path);
      rules.push(rule);
    });
  }
  return { set: { rules, sources }, errors };
}
