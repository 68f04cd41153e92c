import {
  DEVICE_SECRET_PATHS,
  type DeviceRecord,
  type DeviceSecretPath,
  redactDevice,
} from './device-schema.js';

const META = ['createdAt', 'createdBy', 'updatedAt', 'updatedBy'] as const;

/** Sets who/when: creation stays with the first write, update with this one. */
export function stamp(next: DeviceRecord, before: DeviceRecord | null, by: string, at: string): DeviceRecord {
  return {
    ...next,
    createdAt: before?.createdAt ?? at,
    createdBy: before?.createdBy ?? by,
    updatedAt: at,
    updatedBy: by,
  };
}

/**
 * What an imported row cannot carry is kept from the device it replaces: calibration (not in CSV)
 * and the secrets (never exported), when the row leaves them out and still names the same station
 * or camera login (a secret does not follow a device to another MN or camera).
 */
export function keepUnexported(
  next: DeviceRecord,
  input: unknown,
  before: DeviceRecord | null,
): DeviceRecord {
  if (!before) return next;
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  let out = next;
  if (raw.calibration === undefined && Object.keys(before.calibration).length > 0) {
    out = { ...out, calibration: before.calibration };
  }
  for (const path of DEVICE_SECRET_PATHS) {
    const [parent, key] = path.split('.') as [SecretBlock, 'password'];
    const had = before[parent]?.[key];
    const block = out[parent];
    if (had === undefined || !block || block[key] !== undefined) continue;
    if (!SAME_OWNER[path](before, out)) continue;
    out = { ...out, [parent]: { ...block, [key]: had } };
  }
  return out;
}

type SecretBlock = 'hj212' | 'rtsp';

/** Per secret: whether `next` still addresses what `before`'s secret belongs to. */
const SAME_OWNER: Record<DeviceSecretPath, (before: DeviceRecord, next: DeviceRecord) => boolean> = {
  // HJ 212-2017 §6.3.2: the PW belongs to the station with this MN.
  'hj212.password': (b, n) => b.hj212?.mn === n.hj212?.mn,
  // A camera login belongs to a host and user name; a new address or user needs its own password.
  'rtsp.password': (b, n) =>
    b.rtsp !== undefined &&
    n.rtsp !== undefined &&
    b.rtsp.username === n.rtsp.username &&
    hostOf(b.rtsp.url) === hostOf(n.rtsp.url),
};

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** True when two records differ in anything but who/when. */
export function sameContent(a: DeviceRecord, b: DeviceRecord): boolean {
  return canonicalJson(withoutMeta(a)) === canonicalJson(withoutMeta(b));
}

function withoutMeta(d: DeviceRecord): Record<string, unknown> {
  const o: Record<string, unknown> = { ...d };
  for (const k of META) delete o[k];
  return o;
}

/** JSON with object keys sorted, so key order never counts as a change. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    typeof val === 'object' && val !== null && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : val,
  );
}

/** The audit form of a record: secrets redacted, '' for none. */
export function auditJson(d: DeviceRecord | null): string {
  return d ? JSON.stringify(redactDevice(d)) : '';
}
