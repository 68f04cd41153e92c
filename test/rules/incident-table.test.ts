import { describe, expect, it } from 'vitest';
import type { Incident } from '../../processors/rules/incident.js';
import { IncidentTable } from '../../processors/rules/incident-table.js';

const LOCATION = { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '网格-07' };

function incident(key: string, deviceId?: string): Incident {
  return {
    id: `id-${key}`,
    key,
    ruleId: key.split('|')[0] as string,
    deviceId,
    location: LOCATION,
    phase: 'firing',
    severity: 'yellow',
    pendingSince: 0,
    lastTrueAt: 0,
    seq: 1,
    notified: true,
    flapTimes: [],
    flapping: false,
    shadow: false,
  };
}

describe('IncidentTable.hasDevice (the hot path skips devices with no incident)', () => {
  it('counts a device once per key, through restore, set, replace and delete', () => {
    const t = new IncidentTable();
    t.restore([incident('a|d1', 'd1'), incident('@zone|鼓楼区')]);
    expect(t.hasDevice('d1')).toBe(true);
    expect(t.hasDevice('d2')).toBe(false);

    t.set('b|d1|door=1', incident('b|d1|door=1', 'd1'));
    t.set('a|d1', { ...incident('a|d1', 'd1'), phase: 'resolved' }); // same key again: still two
    t.delete('a|d1');
    expect(t.hasDevice('d1')).toBe(true);
    t.delete('b|d1|door=1');
    expect(t.hasDevice('d1')).toBe(false);
    t.delete('b|d1|door=1'); // deleting twice changes nothing
    expect(t.hasDevice('d1')).toBe(false);

    t.set('a|d2', incident('a|d2', 'd2'));
    expect(t.hasDevice('d2')).toBe(true);
  });
});
