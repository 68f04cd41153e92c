import { DEFAULT_WriteOptions, HttpError, type WriteOptions } from '@influxdata/influxdb-client';

/** The influx client's retry settings, same names and defaults (DEFAULT_WriteOptions). */
export type RetryTuning = Partial<
  Pick<WriteOptions, 'minRetryDelay' | 'maxRetryDelay' | 'retryJitter' | 'maxRetryTime' | 'exponentialBase'>
>;

export function retryTuning(t: RetryTuning = {}): Required<RetryTuning> {
  const d = DEFAULT_WriteOptions;
  return {
    minRetryDelay: t.minRetryDelay ?? d.minRetryDelay,
    maxRetryDelay: t.maxRetryDelay ?? d.maxRetryDelay,
    retryJitter: t.retryJitter ?? d.retryJitter,
    maxRetryTime: t.maxRetryTime ?? d.maxRetryTime,
    exponentialBase: t.exponentialBase ?? d.exponentialBase,
  };
}

/**
 * Delay before retry number `failedAttempts` (1 = after the first failure), after the client's own
 * write API: the server's Retry-After when it sent one, else minRetryDelay times exponentialBase
 * per further attempt, capped at maxRetryDelay; plus up to retryJitter at random. Retry-After is
 * read in seconds (RFC 9110 §10.2.3; InfluxDB sends seconds), which the client's HttpError
 * parses but reports as if it were milliseconds.
 */
export function retryDelay(error: Error, failedAttempts: number, t: Required<RetryTuning>): number {
  const jitter = Math.round(Math.random() * t.retryJitter);
  const told = error instanceof HttpError ? error.retryAfter() : 0;
  if (told > 0) return told * 1000 + jitter;
  let delay = Math.max(t.minRetryDelay, 1);
  for (let i = 1; i < failedAttempts && delay < t.maxRetryDelay; i++) delay *= t.exponentialBase;
  return Math.min(delay, t.maxRetryDelay) + jitter;
}
