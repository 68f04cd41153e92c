/* Apart from the device schema: loggers on every worker thread import these, and zod need not come with them. */

/**
 * Paths of secret values in a device: each `<block>.<key>`. Redaction, exports and the registry's
 * keep-on-update all go over this list, so a new secret is one entry here (and one rule in
 * processors/registry/records.ts, which the compiler asks for).
 */
export const DEVICE_SECRET_PATHS = ['hj212.password', 'rtsp.password'] as const;
export type DeviceSecretPath = (typeof DEVICE_SECRET_PATHS)[number];

/**
 * Pino `redact` paths for every secret of a device logged at the top level or one level down
 * (`{ device: {...} }`, `{ before: {...} }`); the gateway logger's paths include these.
 */
export const DEVICE_LOG_REDACT: readonly string[] = DEVICE_SECRET_PATHS.flatMap((p) => [p, `*.${p}`]);
