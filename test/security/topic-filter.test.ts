import { describe, expect, it } from 'vitest';
import { commandTopicFor } from '../../adapters/mqtt/auth-acl.js';
import { filterCovers, isValidFilter, stripShare } from '../../adapters/mqtt/auth-topic-filter.js';
import { models } from './support.js';

describe('MQTT topic filters (MQTT 3.1.1 §4.7)', () => {
  it.each([
    ['alerts/#', 'alerts/gulou/red', true],
    ['alerts/#', 'alerts', true],
    ['alerts/+/red', 'alerts/gulou/red', true],
    ['alerts/+/red', 'alerts/gulou/blue', false],
    ['alerts/+', 'alerts/gulou/red', false],
    ['#', '$SYS/broker/uptime', false],
    ['+/x', '$x/x', false],
    ['devices/a/telemetry', 'devices/a/telemetry', true],
    ['devices/a/telemetry', 'devices/a/telemetry/x', false],
  ])('%s matches %s: %s', (filter, topic, want) => {
    expect(filterCovers(filter, topic)).toBe(want);
  });

  it.each([
    ['alerts/#', 'alerts/#', true],
    ['alerts/#', 'alerts/+/red', true],
    ['alerts/#', '#', false],
    ['alerts/#', '+/red', false],
    ['alerts/+/red', 'alerts/+/red', true],
    ['alerts/+/red', 'alerts/#', false],
    ['alerts/gulou/red', 'alerts/+/red', false],
    ['#', '$SYS/#', false],
    ['#', 'anything/at/all', true],
  ])('%s covers %s: %s', (allowed, requested, want) => {
    expect(filterCovers(allowed, requested)).toBe(want);
  });

  it('validates filters and strips shared-subscription prefixes', () => {
    expect(isValidFilter('a/#')).toBe(true);
    expect(isValidFilter('a/#/b')).toBe(false);
    expect(isValidFilter('a/b+')).toBe(false);
    expect(isValidFilter('')).toBe(false);
    expect(stripShare('$share/g/alerts/#')).toBe('alerts/#');
    expect(stripShare('$share/g')).toBe('');
  });

  it("derives a device's command topic from its model's topics", () => {
    expect(commandTopicFor(models.get('hydrotek-wl300')!, 'fg-1')).toBe('devices/fg-1/command');
    expect(commandTopicFor(models.get('facepass-fp3')!, 'door-1')).toBe('facepass/door-1/command');
  });
});
