import { z } from 'zod';
import { isMetricName } from '../metrics/catalogue.js';
import { FAMILIES, type Family, INSTALL_STATES } from '../types.js';
import { DEVICE_SECRET_PATHS } from './secret-paths.js';

export { DEVICE_LOG_REDACT, DEVICE_SECRET_PATHS, type DeviceSecretPath } from './secret-paths.js';

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

/** A stored secret: never the redaction marker an API response shows in its place. */
const secret = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine(
      (p) => p !== REDACTED,
      'this is the redaction marker, not a password; leave it out to keep the stored one',
    );

export const hj212Schema = z.strictObject({
  mn: z.string().regex(HJ212_MN_PATTERN, 'MN is 1-24 letters or digits (HJ 212-2017 §6.3.2)'),
  /**
   * SECRET. HJ 212-2017 §6.3.2 sends PW in clear in every frame, so it must be kept comparable
   * (not hashed). Never logged, never in an API response: see `redactDevice`.
   */
  password: secret(64).optional(),
});

/**
 * A camera's stream (issue 17). Credentials written inside a URL (`rtsp://user:pass@host/...`) are
 * moved to username/password here, so no stored URL carries them: a URL is then safe to show, and
 * only `password` needs redacting. Messages never echo a URL or a password.
 */
export const rtspSchema = z
  .strictObject({
    url: z.string({ error: 'required: the main stream, rtsp://host[:port]/path' }),
    /** Sub-stream for analysis (lower resolution); the main stream when absent. */
    subUrl: z.string({ error: 'an rtsp:// or rtsps:// URL' }).optional(),
    username: z.string().min(1).max(128).optional(),
    /** SECRET, like hj212.password: stored, never shown, logged or exported. */
    password: secret(128).optional(),
    /** RTP over the RTSP TCP connection (RFC 2326 §10.12) passes NAT and firewalls; UDP only on a clean LAN. */
    transport: z.enum(['tcp', 'udp'], { error: 'tcp (default) or udp' }).default('tcp'),
  })
  .transform((r, ctx) => {
    const url = splitRtspUrl(r.url);
    const sub = r.subUrl === undefined ? undefined : splitRtspUrl(r.subUrl);
    if (!url.ok) ctx.addIssue({ code: 'custom', path: ['url'], message: url.message });
    if (sub && !sub.ok) ctx.addIssue({ code: 'custom', path: ['subUrl'], message: sub.message });
    if (!url.ok || (sub && !sub.ok)) return z.NEVER;
    let login: Login = { username: r.username, password: r.password };
    for (const [key, part] of [
      ['url', url],
      ['subUrl', sub],
    ] as const) {
      if (!part || (part.username === undefined && part.password === undefined)) continue;
      const clash = clashingLogin(login, part);
      if (clash) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `the ${clash} inside this URL differs from ${key === 'url' ? 'rtsp.username/password' : 'the one in rtsp.url or rtsp.username/password'}; a camera has one login: write it once, in username/password`,
        });
        return z.NEVER;
      }
      login = { username: login.username ?? part.username, password: login.password ?? part.password };
    }
    if (login.password === REDACTED) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'the URL carries the redaction marker as its password; leave the password out to keep the stored one',
      });
      return z.NEVER;
    }
    return {
      url: url.url,
      ...(sub ? { subUrl: sub.url } : {}),
      ...(login.username !== undefined ? { username: login.username } : {}),
      ...(login.password !== undefined ? { password: login.password } : {}),
      transport: r.transport,
    };
  });

interface Login {
  username?: string | undefined;
  password?: string | undefined;
}

/** Which part of a URL's login differs from one already given, if any. */
function clashingLogin(have: Login, url: Login): 'user name' | 'password' | undefined {
  if (url.username !== undefined && have.username !== undefined && url.username !== have.username)
    return 'user name';
  if (url.password !== undefined && have.password !== undefined && url.password !== have.password)
    return 'password';
  return undefined;
}

type SplitUrl = ({ ok: true; url: string } & Login) | { ok: false; message: string };

/**
 * An RTSP URL without its credentials, and the credentials (percent-decoded, RFC 3986 §3.2.1).
 * rtsp:// and rtsps:// only (RFC 7826 §18.2): ffmpeg would also open file:, http: or concat: inputs.
 */
export function splitRtspUrl(text: string): SplitUrl {
  if (text.length > 2048) return { ok: false, message: 'longer than 2048 characters' };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\s\u0000-\u001f\u007f]/.test(text))
    return { ok: false, message: 'must not contain spaces or control characters' };
  if (!/^rtsps?:\/\//i.test(text))
    return { ok: false, message: 'must be an rtsp:// or rtsps:// URL (rtsp://host[:port]/path)' };
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { ok: false, message: 'is not a valid URL (rtsp://host[:port]/path)' };
  }
  if (u.hostname === '') return { ok: false, message: 'names no host (rtsp://host[:port]/path)' };
  const login: Login = {
    username: u.username === '' ? undefined : decode(u.username),
    password: u.password === '' ? undefined : decode(u.password),
  };
  u.username = '';
  u.password = '';
  return { ok: true, url: u.href, ...login };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

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
    /** Cameras only (checked in validateDevice, where the family is known). */
    rtsp: rtspSchema.optional(),
    covers: z
      .array(z.string().regex(DEVICE_ID_PATTERN, 'covered devices are device ids'))
      .max(1000)
      .optional(),
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
    issues.push(...cameraIssues(raw, model, family));
  }
  if (!parsed.success || issues.length > 0 || family === undefined) return { ok: false, issues };
  const d = parsed.data;
  const calibration: Record<string, CalibrationStep[]> = {};
  for (const [m, steps] of Object.entries(d.calibration)) {
    calibration[m] = [...steps].sort((a, b) => Date.parse(a.from) - Date.parse(b.from));
  }
  return { ok: true, device: { ...d, family, calibration } };
}

/** `rtsp` and `covers` belong to cameras, and a camera needs its stream. */
function cameraIssues(
  raw: Record<string, unknown>,
  model: string,
  family: Family | undefined,
): DeviceIssue[] {
  if (family === undefined) return [];
  const out: DeviceIssue[] = [];
  if (family === 'camera') {
    if (raw.rtsp === undefined || raw.rtsp === null)
      out.push({
        path: ['rtsp', 'url'],
        message: 'a camera needs rtsp.url (its main stream, rtsp://host[:port]/path)',
      });
    if (Array.isArray(raw.covers)) {
      raw.covers.forEach((c, i) => {
        if (c === raw.id)
          out.push({
            path: ['covers', i],
            message: "a camera's own incidents carry its snapshot already; list only other devices",
          });
      });
    }
    return out;
  }
  for (const key of ['rtsp', 'covers'] as const) {
    if (raw[key] !== undefined)
      out.push({
        path: [key],
        message: `only cameras (family camera) have ${key}; model '${model}' is family '${family}'${key === 'covers' ? ': bind a camera to this device with cameras: [camera-id]' : ''}`,
      });
  }
  return out;
}

const SECRET_KEYS = DEVICE_SECRET_PATHS.map((p) => p.split('.') as [string, string]);

/** A copy with `f` applied to each block holding a secret that is set; `d` itself when none is. */
function mapSecrets<T extends object>(
  d: T,
  f: (block: Readonly<Record<string, unknown>>, key: string) => Record<string, unknown>,
): T {
  let out = d;
  for (const [parent, key] of SECRET_KEYS) {
    const block = (out as Record<string, unknown>)[parent];
    if (typeof block !== 'object' || block === null) continue;
    if ((block as Record<string, unknown>)[key] === undefined) continue;
    out = { ...out, [parent]: f(block as Record<string, unknown>, key) };
  }
  return out;
}

/** A copy safe to log, audit or return from the API: every secret replaced by REDACTED. */
export function redactDevice<T extends object>(d: T): T {
  return mapSecrets(d, (block, key) => ({ ...block, [key]: REDACTED }));
}

/** A copy for export files: secrets left out entirely, so a re-import keeps the stored ones. */
export function withoutSecrets<T extends object>(d: T): T {
  return mapSecrets(d, (block, key) => {
    const { [key]: _omit, ...rest } = block;
    return rest;
  });
}
