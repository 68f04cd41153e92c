import { setLogger } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';

/**
 * The influx client logs through one process-wide logger (console by default). Route it to pino:
 * its warnings (a retry scheduled) at debug, since InfluxWriter's writeFailed already logs every
 * failure at warn with its cause; its errors (e.g. lines left in the retry buffer at close) at warn.
 * Last writer constructed wins, which is fine for one gateway process.
 */
export function routeInfluxClientLogs(logger: Logger): void {
  setLogger({
    error: (message: string, err?: unknown) => logger.warn({ err }, `influx client: ${message}`),
    warn: (message: string, err?: unknown) => logger.debug({ err }, `influx client: ${message}`),
  });
}
