import type { Logger } from 'pino';
import { pino } from 'pino';
import { LOG_REDACT_PATHS } from '../../config/redact.js';

/** Secrets never reach a log line: tokens, authorization headers, passwords. */
const redact = { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' };

const { chindingsSym } = pino.symbols;

/**
 * One key once per line. pino appends a child's bindings to its parent's as text, so a component
 * that names itself (`child({ component: 'influx-writer' })`) under a logger the composition root
 * already named (`child({ component: 'tsdb' })`) would print `"component"` twice; JSON parsers
 * keep the last, grep and jq users see both. When a child repeats a key, its bindings are rewritten
 * with each key once (the innermost value, as JSON.parse would read it). This runs per child
 * logger, never per line. It uses pino's exported `symbols.chindingsSym`; test/security/log-lines
 * fails if a pino upgrade changes how bindings are kept.
 */
function uniqueBindings(child: Logger): void {
  const holder = child as unknown as Record<symbol, unknown>;
  const text = holder[chindingsSym];
  if (typeof text !== 'string' || text.length < 2) return;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(`{${text.slice(1)}}`) as Record<string, unknown>;
  } catch {
    return;
  }
  const unique = JSON.stringify(parsed);
  // Same length when no key repeats (re-serialising the same values gives the same text).
  if (unique.length - 1 === text.length) return;
  holder[chindingsSym] = `,${unique.slice(1, -1)}`;
}

/** What every gridgate logger is made with, on the gateway's thread and on its worker threads. */
export const LOG_OPTIONS = { redact, onChild: uniqueBindings } as const;
