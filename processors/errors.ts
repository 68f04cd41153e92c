/**
 * One catalogue of error codes, after fastify's lib/errors.js: each entry is made by
 * `createError(code, template, statusCode)`, so a code, the message a person reads and the HTTP
 * status the API answers with live in one line. A message says what was wrong, where, and what to
 * do; `%s` in a template is filled by `GridgateError.of(code, ...args)`. Call sites with more to
 * say pass their own message (`new GridgateError(code, message, details)`).
 *
 * fastify's own helper (@fastify/error) is not used: it is not one of gridgate's declared
 * dependencies, and its errors carry no `details` list.
 */
export interface CatalogueEntry<C extends string = string> {
  readonly code: C;
  readonly template: string;
  /** What the HTTP API answers with. Errors that never reach the API keep 500. */
  readonly statusCode: number;
}

function createError<const C extends string>(code: C, template: string, statusCode = 500): CatalogueEntry<C> {
  return { code, template, statusCode };
}

export const ERRORS = {
  GG_ERR_CONFIG_INVALID: createError('GG_ERR_CONFIG_INVALID', 'configuration is invalid: %s'),
  GG_ERR_CONFIG_READ: createError('GG_ERR_CONFIG_READ', 'configuration file %s could not be read'),
  GG_ERR_DEVICES_INVALID: createError(
    'GG_ERR_DEVICES_INVALID',
    'device file %s is invalid; nothing was imported',
    400,
  ),
  GG_ERR_MODEL_INVALID: createError('GG_ERR_MODEL_INVALID', 'device model definition %s is invalid'),
  GG_ERR_RULES_INVALID: createError('GG_ERR_RULES_INVALID', 'rule file %s is invalid', 400),
  GG_ERR_MQTT_CONNECT: createError('GG_ERR_MQTT_CONNECT', 'could not connect to the MQTT broker at %s', 503),
  GG_ERR_REDIS_CONNECT: createError('GG_ERR_REDIS_CONNECT', 'could not connect to Redis at %s', 503),
  GG_ERR_CONFLICT: createError('GG_ERR_CONFLICT', '%s conflicts with the current state', 409),
  GG_ERR_ALERT_INVALID: createError(
    'GG_ERR_ALERT_INVALID',
    'alert event does not match gridgate.alert/v1',
    400,
  ),
  GG_ERR_TSDB_WRITE: createError('GG_ERR_TSDB_WRITE', 'time-series write failed: %s', 503),
  GG_ERR_NOT_FOUND: createError('GG_ERR_NOT_FOUND', '%s not found', 404),
  GG_ERR_ROUTE_NOT_FOUND: createError(
    'GG_ERR_ROUTE_NOT_FOUND',
    'no route %s %s; the API is under /api/v1 (see the README, "HTTP API")',
    404,
  ),
  GG_ERR_BAD_REQUEST: createError('GG_ERR_BAD_REQUEST', 'bad request: %s', 400),
  GG_ERR_BODY_INVALID: createError('GG_ERR_BODY_INVALID', 'request body is not valid %s: %s', 400),
  GG_ERR_BODY_FORBIDDEN_KEY: createError(
    'GG_ERR_BODY_FORBIDDEN_KEY',
    'request body holds the key "%s", which is not allowed (it could change object prototypes); remove it',
    400,
  ),
  GG_ERR_BODY_TOO_LARGE: createError(
    'GG_ERR_BODY_TOO_LARGE',
    'request body is larger than %s bytes, the limit for %s',
    413,
  ),
  GG_ERR_UNSUPPORTED_MEDIA_TYPE: createError(
    'GG_ERR_UNSUPPORTED_MEDIA_TYPE',
    'content type "%s" is not accepted here; send application/json',
    415,
  ),
  GG_ERR_UNAUTHORIZED: createError('GG_ERR_UNAUTHORIZED', 'a valid bearer token is required', 401),
  GG_ERR_FORBIDDEN: createError('GG_ERR_FORBIDDEN', 'your token role may not %s', 403),
  GG_ERR_CAMERA_CAP: createError(
    'GG_ERR_CAMERA_CAP',
    'camera process cap reached (cameras.maxProcesses %s)',
    503,
  ),
  GG_ERR_CAMERA_UNAVAILABLE: createError('GG_ERR_CAMERA_UNAVAILABLE', 'camera %s stream unavailable', 503),
  GG_ERR_INTERNAL: createError(
    'GG_ERR_INTERNAL',
    'internal error (request %s); the gateway log has the cause',
    500,
  ),
} as const;
export type ErrorCode = keyof typeof ERRORS;

/** Code -> template, as the catalogue was first published (kept for readers of the old export). */
export const ERROR_CODES: Readonly<Record<ErrorCode, string>> = Object.fromEntries(
  Object.values(ERRORS).map((e) => [e.code, e.template]),
) as Record<ErrorCode, string>;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

/** `%s` placeholders filled in order, like util.format for strings (processors stay free of node:util). */
function fill(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '%s'));
}

export class GridgateError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];
  constructor(
    code: ErrorCode,
    message: string,
    details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'GridgateError';
    this.code = code;
    this.details = details;
  }

  /** The HTTP status the catalogue gives this code. */
  get statusCode(): number {
    return ERRORS[this.code].statusCode;
  }

  /** An error with the catalogue's message for `code`, its `%s` filled from args. */
  static of(code: ErrorCode, args: readonly unknown[] = [], details: readonly string[] = []): GridgateError {
    return new GridgateError(code, fill(ERRORS[code].template, args), details);
  }
}

/**
 * Why a message (or one field of it) was not turned into a reading. Each is counted
 * (gridgate_rejects_total{reason}) and dead-lettered.
 */
export const REJECT_REASONS = {
  payload_too_large: 'payload exceeds ingest.maxPayloadBytes',
  invalid_utf8: 'payload is not valid UTF-8',
  malformed: "payload could not be parsed in the model's wire format",
  too_deep: 'payload nesting exceeds ingest.maxDepth',
  not_an_object: 'payload is not a JSON object',
  unknown_topic: 'topic matches no device topic pattern',
  unknown_device: 'device id is not registered',
  unknown_model: "device's model is not in the model index",
  wrong_type: 'field has the wrong type (expected a finite number)',
  out_of_range: "value outside the metric's physical range",
  bad_timestamp: 'timestamp unparseable, or too far in the future or past',
  unknown_event: "event code not in the model's event map",
  unknown_code: 'HJ 212 pollutant/parameter code not in the model or code table',
  no_readings: 'message held no usable field',
  bad_crc: 'frame CRC does not match',
  bad_length: 'frame length field does not match',
  bad_password: 'wrong password',
  rate_limited: 'device exceeds its message rate',
} as const;
export type RejectReason = keyof typeof REJECT_REASONS;

export interface Rejection {
  reason: RejectReason;
  /** Epoch ms. */
  at: number;
  transport: string;
  deviceId?: string;
  topic?: string;
  /** The field, for a per-field reject. */
  field?: string;
  detail: string;
  /** Up to 256 bytes of the payload, printable (non-UTF-8 bytes escaped as \xNN). */
  payloadPreview?: string;
}

export interface RejectSink {
  reject(r: Rejection): void;
}
