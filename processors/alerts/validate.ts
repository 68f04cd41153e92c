/**
 * The compiled validator for `gridgate.alert/v1`, shared by the dispatcher (before enqueueing) and the
 * consumer helper (before handing a job to user code). Compiled once at import: validating an event
 * is then a plain function call.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import schema from '../../config/schemas/alert-v1.schema.json' with { type: 'json' };
import type { AlertEvent } from './event.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is module.exports.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const compiled = ajv.compile<AlertEvent>(schema);

/** The published JSON Schema document (config/schemas/alert-v1.schema.json). */
export const alertSchema: Readonly<Record<string, unknown>> = schema;

export type AlertValidation = { ok: true; event: AlertEvent } | { ok: false; errors: string[] };

/** Validate `data` against gridgate.alert/v1; every error, each as `path: message`. */
export function validateAlertEvent(data: unknown): AlertValidation {
  if (compiled(data)) return { ok: true, event: data };
  const errors = (compiled.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`);
  return { ok: false, errors };
}
