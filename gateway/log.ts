import { type Logger, pino } from 'pino';
import type { GridgateConfig } from '../config/schema.js';
import { LOG_REDACT_PATHS } from './http/auth.js';

/** Secrets never reach a log line: tokens, authorization headers, passwords. */
const redact = { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' };

/** JSON logs by default; pretty only when asked for or when stdout is a TTY (and pino-pretty is installed). */
export function createLogger(cfg: GridgateConfig['log'], destination?: NodeJS.WritableStream): Logger {
  const pretty = cfg.pretty ?? process.stdout.isTTY === true;
  if (pretty && !destination) {
    return pino({
      level: cfg.level,
      redact,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return destination
    ? pino({ level: cfg.level, redact }, destination as pino.DestinationStream)
    : pino({ level: cfg.level, redact });
}
