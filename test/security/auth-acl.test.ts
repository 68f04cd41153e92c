import { describe, expect, it } from 'vitest';
import { deviceAcl } from '../../adapters/mqtt/auth-acl.js';
import { ModelIndex } from '../../processors/devices/index.js';

const models = new ModelIndex();

describe('device topic ACL', () => {
  it('lets a JSON device publish only its own topics and subscribe only its command topic', () => {
    const acl = deviceAcl(models.get('hydrotek-wl300')!, 'wl-1', undefined, 'hj212/{mn}');
    expect([...acl.publish].sort()).toEqual([
      'devices/wl-1/event',
      'devices/wl-1/status',
      'devices/wl-1/telemetry',
    ]);
    expect([...acl.subscribe]).toEqual(['devices/wl-1/command']);
  });

  it('lets an HJ 212 DTU publish frames on its MN topic and read the 9014 responses', () => {
    const acl = deviceAcl(models.get('sinodust-yc200-hj212')!, 'dust-7', 'MN0007', 'hj212/{mn}');
    expect(acl.publish.has('hj212/MN0007')).toBe(true);
    expect(acl.subscribe.has('hj212/MN0007/response')).toBe(true);
    expect(acl.subscribe.has('hj212/MN0008/response')).toBe(false);
  });
});
