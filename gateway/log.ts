import { type Logger, pino } from 'pino';
import type { GridgateConfig } from '../config/schema.js';
import { LOG_REDACT_PATHS } from './http/auth.js';

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

/** JSON logs by default; pretty only when asked for or when stdout is a TTY (and pino-pretty is installed). */
export function createLogger(cfg: GridgateConfig['log'], destination?: NodeJS.WritableStream): Logger {
  const pretty = cfg.pretty ?? process.stdout.isTTY === true;
  const base = { level: cfg.level, redact, onChild: uniqueBindings };
  if (pretty && !destination) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return destination ? pino(base, destination as pino.DestinationStream) : pino(base);
}
