import { HttpError, type SendOptions, type Transport } from '@influxdata/influxdb-client';
import type { WriteErrorInfo } from './writer-types.js';

/**
 * One POST of ready-made line protocol through the influx client's transport (its auth header,
 * timeout, gzip above the threshold, and HttpError with the server's body and Retry-After).
 * Resolves on 204 (201: InfluxDB 3's partial success), as the client's write API does.
 *
 * The body is bytes, not a string: the Node transport turns its body into a Buffer with
 * Buffer.from(body), which copies a Uint8Array as it is. Handing it bytes skips what the client's
 * write API does per line (count UTF-8 bytes in JS, join, encode again), the writer thread's
 * largest cost under load.
 */
export function postLines(
  transport: Transport,
  path: string,
  options: SendOptions,
  body: Uint8Array,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let status: number | undefined;
    transport.send(path, body as unknown as string, options, {
      responseStarted(_headers, statusCode) {
        status = statusCode;
      },
      error: reject,
      complete() {
        if (status === undefined || status === 204 || status === 201) resolve();
        else reject(new HttpError(status, `the write API answered ${status}; 204 expected`));
      },
    });
  });
}

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
