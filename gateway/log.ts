import { type Logger, pino } from 'pino';
import { LOG_OPTIONS } from '../adapters/log/options.js';
import type { GridgateConfig } from '../config/schema.js';

/** JSON logs by default; pretty only when asked for or when stdout is a TTY (and pino-pretty is installed). */
export function createLogger(cfg: GridgateConfig['log'], destination?: NodeJS.WritableStream): Logger {
  const pretty = cfg.pretty ?? process.stdout.isTTY === true;
  const base = { level: cfg.level, ...LOG_OPTIONS };
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
