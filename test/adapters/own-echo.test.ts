import { describe, expect, it } from 'vitest';
import { OwnEchoFilter } from '../../adapters/mqtt/own-echo.js';

describe('OwnEchoFilter (MQTT 3.1.1 has no No Local)', () => {
  it('recognises each echo of an own publish once, by topic and bytes, only on covered topics', () => {
    const f = new OwnEchoFilter(['devices/+/telemetry', '$share/g/hj212/+']);
    f.published('alerts/鼓楼区/red', 'a'); // no filter covers it: nothing remembered
    expect(f.isEcho('alerts/鼓楼区/red', Buffer.from('a'))).toBe(false);

    f.published('devices/d1/telemetry', '{"x":1}');
    f.published('devices/d1/telemetry', '{"x":1}');
    f.published('hj212/MN1', Buffer.from('##0001'));
    expect(f.isEcho('devices/d1/telemetry', Buffer.from('{"x":2}'))).toBe(false); // a device's own message
    expect(f.isEcho('devices/d1/telemetry', Buffer.from('{"x":1}'))).toBe(true);
    expect(f.isEcho('devices/d1/telemetry', Buffer.from('{"x":1}'))).toBe(true);
    expect(f.isEcho('devices/d1/telemetry', Buffer.from('{"x":1}'))).toBe(false); // both echoes consumed
    expect(f.isEcho('hj212/MN1', Buffer.from('##0001'))).toBe(true);
  });

  it('forgets a publish whose echo never came after a minute', () => {
    let now = 0;
    const f = new OwnEchoFilter(['devices/#'], () => now);
    f.published('devices/d1/command', 'old');
    now = 61_000;
    f.published('devices/d2/command', 'new');
    expect(f.isEcho('devices/d1/command', Buffer.from('old'))).toBe(false);
    expect(f.isEcho('devices/d2/command', Buffer.from('new'))).toBe(true);
  });

  it('never takes a device message for an echo that is over a minute late', () => {
    let now = 0;
    const f = new OwnEchoFilter(['devices/#'], () => now);
    f.published('devices/d1/command', 'reboot'); // the broker dropped it (ACL): no echo ever comes
    now = 3_600_000;
    expect(f.isEcho('devices/d1/command', Buffer.from('reboot'))).toBe(false);
  });
});
