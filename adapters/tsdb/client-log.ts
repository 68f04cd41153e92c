import { setLogger } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';

/**
 * The influx client logs through one process-wide logger (console by default). Route it to pino:
 * its warnings at debug and its errors at warn, since InfluxWriter logs every failed write itself,
 * at warn with its cause. Last writer constructed wins, which is fine for one gateway process.
 */
export function routeInfluxClientLogs(logger: Logger): void {
  setLogger({
    error: (message: string, err?: unknown) => logger.warn({ err }, `influx client: ${message}`),
    warn: (message: string, err?: unknown) => logger.debug({ err }, `influx client: ${message}`),
  });
}
