import { type DeviceRecord, redactDevice } from '../../config/device-schema.js';

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
 * and the HJ 212 password (never exported), when the row leaves them out.
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
  const pw = before.hj212?.password;
  if (
    out.hj212 &&
    out.hj212.password === undefined &&
    pw !== undefined &&
    before.hj212?.mn === out.hj212.mn
  ) {
    out = { ...out, hj212: { ...out.hj212, password: pw } };
  }
  return out;
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
