import { defineModel, metric } from '../define.js';

/**
 * GateKeeper AC100 two-door access controller (residential compound gates). One JSON record per
 * event with numeric event and verification codes from the vendor's protocol sheet, door number,
 * epoch seconds. Telemetry (heartbeat) carries the backup-battery voltage in mV.
 *
 * Event codes: 1 granted, 2 denied, 3 door opened, 4 door closed, 5 forced open, 6 held open, 7 tamper.
 * Verification modes: 1 card, 2 face, 3 QR code, 4 PIN.
 *
 * @example devices/{deviceId}/event
 * {"ts":1767225600,"code":1,"door":2,"mode":1,"card":"0A1B2C3D"}
 * @example devices/{deviceId}/telemetry
 * {"ts":1767225600,"bat":12800}
 */
export default defineModel({
  id: 'gatekeeper-ac100',
  vendor: 'GateKeeper',
  name: 'AC100 two-door access controller',
  family: 'access',
  format: 'json',
  time: { path: 'ts', format: 'epoch_s' },
  fields: [metric('battery_v', { path: 'bat', unit: 'mV' })],
  event: {
    path: 'code',
    map: {
      '1': 'granted',
      '2': 'denied',
      '3': 'door_open',
      '4': 'door_closed',
      '5': 'door_forced',
      '6': 'door_held',
      '7': 'tamper',
    },
    door: 'door',
    method: { path: 'mode', map: { '1': 'card', '2': 'face', '3': 'qr', '4': 'pin' } },
  },
  reportingIntervalS: 300,
  description: 'Numeric event/mode codes, door number, epoch-second timestamps.',
});
