/**
 * One catalogue of error codes (after fastify's lib/errors.js). A message says what was wrong,
 * where, and what to do.
 */
export const ERROR_CODES = {
  GG_ERR_CONFIG_INVALID: 'configuration is invalid',
  GG_ERR_CONFIG_READ: 'configuration file could not be read',
  GG_ERR_DEVICES_INVALID: 'device file is invalid',
  GG_ERR_MODEL_INVALID: 'device model definition is invalid',
  GG_ERR_RULES_INVALID: 'rule file is invalid',
  GG_ERR_MQTT_CONNECT: 'could not connect to the MQTT broker',
  GG_ERR_REDIS_CONNECT: 'could not connect to Redis',
  GG_ERR_CONFLICT: 'conflict with the current state',
  GG_ERR_ALERT_INVALID: 'alert event does not match gridgate.alert/v1',
  GG_ERR_TSDB_WRITE: 'time-series write failed',
  GG_ERR_NOT_FOUND: 'not found',
  GG_ERR_BAD_REQUEST: 'bad request',
  GG_ERR_UNAUTHORIZED: 'unauthorized',
  GG_ERR_FORBIDDEN: 'forbidden',
  GG_ERR_CAMERA_CAP: 'camera process cap reached',
  GG_ERR_CAMERA_UNAVAILABLE: 'camera stream unavailable',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

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
