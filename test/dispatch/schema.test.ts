import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ALERT_EVENT_TYPES, type AlertEvent, SEVERITIES } from '../../processors/alerts/event.js';
import { validateAlertEvent } from '../../processors/alerts/validate.js';
import { FAMILIES, LOCATION_KEYS } from '../../processors/types.js';
import { sampleEvent } from './support.js';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const schema = JSON.parse(
  readFileSync(new URL('../../config/schemas/alert-v1.schema.json', import.meta.url), 'utf8'),
);

type Props = Record<
  string,
  { enum?: unknown[]; properties?: Props; items?: { properties: Props }; $ref?: string }
>;
const props = schema.properties as Props;

/** Every key of AlertEvent, each present: adding/removing a key in the type breaks compilation here. */
const full: Required<AlertEvent> = {
  schema: 'gridgate.alert/v1',
  id: 'flood-level.g1.escalated.2',
  incidentId: 'flood-level.g1',
  type: 'alert.escalated',
  rule: { id: 'flood-level', name: 'Flood level' },
  severity: 'orange',
  previousSeverity: 'yellow',
  reason: 'severity_rose',
  device: {
    id: 'g1',
    family: 'flood',
    model: 'm',
    location: { district: 'd', street: 's', community: 'c', grid: 'g' },
    lat: 31.2,
    lon: 121.5,
  },
  location: { district: 'd', street: 's', community: 'c', grid: 'g' },
  metric: 'water_level_m',
  value: 3.1,
  threshold: 3,
  unit: 'm',
  startedAt: '2026-07-01T08:00:00+08:00',
  at: '2026-07-01T08:05:00+08:00',
  resolvedAt: '2026-07-01T09:00:00+08:00',
  summary: { zh: '水位 3.1 m', en: 'Water level 3.1 m' },
  evidence: [
    { kind: 'snapshot', url: 'http://cam/1.jpg', camera: 'cam-1', at: '2026-07-01T08:05:00+08:00' },
    { kind: 'snapshot', camera: 'cam-2', at: '2026-07-01T08:05:00+08:00', error: 'camera offline' },
  ],
  shadow: false,
};

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
const REQUIRED = [
  'schema',
  'id',
  'incidentId',
  'type',
  'rule',
  'severity',
  'location',
  'startedAt',
  'at',
  'summary',
  'evidence',
] as const satisfies readonly RequiredKeys<AlertEvent>[];
// Compile-time: every required key of the type is listed above.
const _exhaustive: Exclude<RequiredKeys<AlertEvent>, (typeof REQUIRED)[number]> extends never ? true : never =
  true;
type Device = NonNullable<AlertEvent['device']>;
const DEVICE_REQUIRED = [
  'id',
  'family',
  'model',
  'location',
] as const satisfies readonly RequiredKeys<Device>[];
const _deviceExhaustive: Exclude<RequiredKeys<Device>, (typeof DEVICE_REQUIRED)[number]> extends never
  ? true
  : never = true;

describe('gridgate.alert/v1 schema', () => {
  it('is a valid draft 2020-12 schema that compiles in strict mode', () => {
    const ajv = new Ajv2020({ strict: true });
    addFormats(ajv);
    expect(ajv.validateSchema(schema)).toBe(true);
    expect(() => ajv.compile(schema)).not.toThrow();
    expect(_exhaustive && _deviceExhaustive).toBe(true);
  });

  it('accepts sample firing, escalated, resolved, correlation and fully populated events', () => {
    const samples: AlertEvent[] = [
      sampleEvent(),
      full,
      sampleEvent({ type: 'alert.resolved', resolvedAt: '2026-07-01T09:00:00.000Z' }),
      sampleEvent({
        type: 'alert.escalated',
        severity: 'red',
        previousSeverity: 'red',
        reason: 'ack_overdue',
      }),
      // Correlation rule: keyed by location, no device.
      { ...sampleEvent(), device: undefined } as AlertEvent,
    ];
    for (const s of samples) {
      const data = JSON.parse(JSON.stringify(s));
      expect(validateAlertEvent(data)).toMatchObject({ ok: true });
    }
  });

  it('rejects wrong events, naming every error', () => {
    const bad = { ...sampleEvent(), severity: 'purple', summary: { zh: 'x' }, extra: 1 };
    const r = validateAlertEvent(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join('\n')).toMatch(/severity/);
    expect(r.errors.join('\n')).toMatch(/en/);
    expect(r.errors.join('\n')).toMatch(/additional/);
    expect(validateAlertEvent({ ...sampleEvent(), id: 'a:b' }).ok).toBe(false);
    expect(validateAlertEvent({ ...sampleEvent(), id: '12345' }).ok).toBe(false);
    expect(validateAlertEvent({ ...sampleEvent(), at: 'yesterday' }).ok).toBe(false);
    expect(validateAlertEvent({ ...sampleEvent(), schema: 'gridgate.alert/v2' }).ok).toBe(false);
  });

  it('has exactly the keys of the AlertEvent type, at every level', () => {
    expect(Object.keys(props).sort()).toEqual(Object.keys(full).sort());
    expect([...schema.required].sort()).toEqual([...REQUIRED].sort());
    expect(Object.keys(props.device!.properties!).sort()).toEqual(Object.keys(full.device).sort());
    expect([...(schema.properties.device.required as string[])].sort()).toEqual([...DEVICE_REQUIRED].sort());
    expect(Object.keys(props.rule!.properties!).sort()).toEqual(Object.keys(full.rule).sort());
    expect(Object.keys(props.summary!.properties!).sort()).toEqual(Object.keys(full.summary).sort());
    expect(Object.keys(props.evidence!.items!.properties).sort()).toEqual(
      [...new Set(full.evidence.flatMap((e) => Object.keys(e)))].sort(),
    );
    expect(Object.keys(schema.$defs.location.properties).sort()).toEqual([...LOCATION_KEYS].sort());
  });

  it('enumerates the same severities, event types and families as the code', () => {
    expect(schema.$defs.severity.enum).toEqual([...SEVERITIES]);
    expect(props.type!.enum).toEqual([...ALERT_EVENT_TYPES]);
    expect(props.device!.properties!.family!.enum).toEqual([...FAMILIES]);
  });

  it('documents every property', () => {
    const undocumented: string[] = [];
    const walk = (p: Props, path: string) => {
      for (const [k, v] of Object.entries(p)) {
        if (!(v as { description?: string }).description) undocumented.push(`${path}${k}`);
        if (v.properties) walk(v.properties, `${path}${k}.`);
        if (v.items?.properties) walk(v.items.properties, `${path}${k}[].`);
      }
    };
    walk(props, '');
    expect(undocumented).toEqual([]);
  });
});
