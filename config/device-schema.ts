import { z } from 'zod';
import { isMetricName } from '../processors/metrics/catalogue.js';
import { FAMILIES, type Family, INSTALL_STATES } from '../processors/types.js';

/**
 * One device as installers write it (YAML file, CSV row, API body) and as the registry stores it.
 * The schema is the single source of the stored type: `DeviceRecord` is derived from it and is
 * assignable to the pipeline's `Device` (processors/types.ts).
 *
 * Model existence cannot be checked by zod alone (the model index is data owned elsewhere), so
 * `validateDevice()` takes a `knownModels` lookup and reports unknown models beside every other
 * problem, all at once.
 */

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Keys of attrs and labels: identifier-like, so `attrs.warning_level_m` works as a CSV column and a CEL path. */
const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** HJ 212-2017 §6.3.2: MN is the equipment's unique code, up to 24 characters. */
const HJ212_MN_PATTERN = /^[A-Za-z0-9]{1,24}$/;

export const REDACTED = '[redacted]';
/** Path segments of /api/v1/devices/... that are not device ids. */
const RESERVED_IDS = new Set(['export', 'import', 'unknown']);

const nonEmpty = z.string().trim().min(1, 'must not be empty').max(128);
const key = z.string().regex(KEY_PATTERN, 'keys are letters, digits and _, starting with a letter or _');

export const locationSchema = z.strictObject({
  district: nonEmpty,
  street: nonEmpty,
  community: nonEmpty,
  grid: nonEmpty,
});

export const calibrationStepSchema = z.strictObject({
  scale: z.number().refine((n) => n !== 0, 'scale must not be 0'),
  offset: z.number(),
  /** Effective from this instant; readings before it use the previous step (or none). */
  from: z.iso.datetime({ offset: true }),
});
export type CalibrationStep = z.output<typeof calibrationStepSchema>;

export const hj212Schema = z.strictObject({
  mn: z.string().regex(HJ212_MN_PATTERN, 'MN is 1-24 letters or digits (HJ 212-2017 §6.3.2)'),
  /**
   * SECRET. HJ 212-2017 §6.3.2 sends PW in clear in every frame, so it must be kept comparable
   * (not hashed). Never logged, never in an API response: see `redactDevice`.
   */
  password: z
    .string()
    .min(1)
    .max(64)
    .refine(
      (p) => p !== REDACTED,
      'this is the redaction marker, not a password; leave it out to keep the stored one',
    )
    .optional(),
});

export const deviceSchema = z
  .strictObject({
    id: z
      .string()
      .regex(DEVICE_ID_PATTERN, 'id is 1-64 of A-Z a-z 0-9 _ . : -')
      .refine((id) => !RESERVED_IDS.has(id), 'this id names an API route (/devices/<id>); choose another'),
    model: z.string().min(1, 'model is required'),
    /** Derived from the model when omitted; a mismatch is an error. */
    family: z.enum(FAMILIES).optional(),
    location: locationSchema,
    address: z.string().max(256).optional(),
    lat: z.number().min(-90).max(90).optional(),
    lon: z.number().min(-180).max(180).optional(),
    state: z.enum(INSTALL_STATES).default('commissioning'),
    attrs: z
      .record(
        key,
        z.union([z.string().max(256), z.number(), z.boolean()], {
          error: 'attribute values are text, numbers or true/false',
        }),
      )
      .default({}),
    labels: z.record(key, z.string().max(256)).default({}),
    cameras: z
      .array(z.string().regex(DEVICE_ID_PATTERN, 'camera ids follow the device id pattern'))
      .default([]),
    calibration: z
      .record(
        z
          .string()
          .refine(
            (k): boolean => isMetricName(k),
            'calibration keys are canonical metric names (e.g. water_level_m)',
          ),
        z.array(calibrationStepSchema).min(1),
      )
      .default({}),
    hj212: hj212Schema.optional(),
    // Set by the registry on every write; accepted on input so an export re-imports cleanly.
    createdAt: z.iso.datetime({ offset: true }).optional(),
    createdBy: z.string().max(128).optional(),
    updatedAt: z.iso.datetime({ offset: true }).optional(),
    updatedBy: z.string().max(128).optional(),
  })
  .superRefine((d, ctx) => {
    if ((d.lat === undefined) !== (d.lon === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [d.lat === undefined ? 'lat' : 'lon'],
        message: 'lat and lon go together',
      });
    }
  });

export type DeviceInput = z.input<typeof deviceSchema>;
type Parsed = z.output<typeof deviceSchema>;
/** A validated, stored device: `family` resolved, calibration sorted by effective time. */
export type DeviceRecord = Omit<Parsed, 'family'> & { family: Family };

export interface DeviceIssue {
  /** Path inside the device object, e.g. ['attrs', 'warning_level_m']. */
  path: (string | number)[];
  message: string;
}

export type ValidateResult = { ok: true; device: DeviceRecord } | { ok: false; issues: DeviceIssue[] };

/** The model index's answer: the model's family, or undefined for an unknown model. */
export type KnownModels = (modelId: string) => Family | undefined;

export function validateDevice(input: unknown, knownModels: KnownModels): ValidateResult {
  const issues: DeviceIssue[] = [];
  const parsed = deviceSchema.safeParse(input);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      issues.push({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message });
    }
  }
  // Check the model even when other fields failed, so every problem is reported at once.
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const model = raw.model;
  let family: Family | undefined;
  if (typeof model === 'string' && model !== '') {
    family = knownModels(model);
    if (family === undefined) {
      issues.push({ path: ['model'], message: `unknown model '${model}' (not in the model index)` });
    } else if (typeof raw.family === 'string' && raw.family !== family) {
      issues.push({
        path: ['family'],
        message: `family '${raw.family}' does not match model '${model}' (family '${family}'); omit it or fix it`,
      });
    }
  }
  if (!parsed.success || issues.length > 0 || family === undefined) return { ok: false, issues };
  const d = parsed.data;
  const calibration: Record<string, CalibrationStep[]> = {};
  for (const [m, steps] of Object.entries(d.calibration)) {
    calibration[m] = [...steps].sort((a, b) => Date.parse(a.from) - Date.parse(b.from));
  }
  return { ok: true, device: { ...d, family, calibration } };
}

/** Paths of secret values in a device. */
export const DEVICE_SECRET_PATHS = ['hj212.password'] as const;

/** A copy safe to log, audit or return from the API. */
export function redactDevice<T extends { hj212?: { mn: string; password?: string } | undefined }>(d: T): T {
  if (d.hj212?.password === undefined) return d;
  return { ...d, hj212: { ...d.hj212, password: REDACTED } };
}

/** Pino `redact` paths for log objects that carry a device under `device`. */
export const DEVICE_LOG_REDACT = DEVICE_SECRET_PATHS.map((p) => `device.${p}`);

/** A copy for export files: secrets left out entirely, so a re-import keeps the stored ones. */
export function withoutSecrets<T extends { hj212?: { mn: string; password?: string } | undefined }>(d: T): T {
  if (d.hj212?.password === undefined) return d;
  const { password: _omit, ...hj212 } = d.hj212;
  return { ...d, hj212 };
}
