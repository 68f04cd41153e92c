/**
 * Secrets out of what gridgate prints: `gridgate config show`, log lines and error messages that
 * name a broker, Redis or database URL. Credentials ride in URLs as often as in their own keys
 * (`redis://:password@host`, `mqtt://user:password@host`), so both are masked.
 */

import { DEVICE_LOG_REDACT } from '../processors/registry/secret-paths.js';

export const MASK = '***';

/** Keys whose string value is a secret. `scrypt` is a password hash: not reversible, but guessable offline. */
const SECRET_KEY = /password|token|secret|scrypt/i;
/** Query parameters that carry credentials in some URL schemes (`?password=`, `?token=`, `?auth=`). */
const SECRET_PARAM = /pass|token|secret|auth|key|sig/i;
const LOOKS_LIKE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The URL with its password (and credential query parameters) replaced by `***`. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Unparseable: mask whatever sits between `//` and `@`, user name included.
    return url.replace(/\/\/[^@/]*@/, `//${MASK}@`);
  }
  let changed = false;
  if (u.password) {
    u.password = MASK;
    changed = true;
  }
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) {
      u.searchParams.set(name, MASK);
      changed = true;
    }
  }
  // Unchanged URLs are returned as written (URL.toString() would add a trailing '/', say).
  return changed ? u.toString() : url;
}

/**
 * A copy of a configuration (or any JSON value) safe to print: values under secret-looking keys
 * become `***`, and every URL-valued string loses its credentials, whatever its key.
 */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (value !== '' && SECRET_KEY.test(key)) return MASK;
    return LOOKS_LIKE_URL.test(value) ? redactUrl(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}

/**
 * pino `redact` paths for the gateway logger (and its threads' loggers): request headers that carry credentials, and any
 * field named like a secret at the top level or one level down. Pass as
 * `pino({ redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } })`.
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'password',
  'secret',
  'token',
  '*.password',
  '*.secret',
  '*.token',
  // Device secrets (hj212.password, rtsp.password) at the top level and one level down.
  ...DEVICE_LOG_REDACT,
];
