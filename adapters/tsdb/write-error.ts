import { HttpError } from '@influxdata/influxdb-client';
import type { WriteErrorInfo } from './writer-types.js';

/** What the stats keep of a failed write: message, HTTP status and the start of the body, when. */
export function describeWriteError(error: Error): WriteErrorInfo {
  if (error instanceof HttpError) {
    return {
      message: error.message,
      statusCode: error.statusCode,
      body: error.body?.slice(0, 500),
      at: Date.now(),
    };
  }
  const code = (error as NodeJS.ErrnoException).code;
  return { message: code ? `${code}: ${error.message}` : error.message, at: Date.now() };
}
