import { defineModel, metric } from '../define.js';

/**
 * FacePass FP3 face-recognition turnstile terminal. Speaks its own topic tree
 * (`facepass/{deviceId}/record|heartbeat|lwt`), nests the event under `event` with upper-case
 * string types, names the reader rather than numbering it, stamps China-time compact time, and
 * reports Wi-Fi RSSI in its heartbeat.
 *
 * @example facepass/{deviceId}/record
 * {"time":"20260101080000","event":{"type":"FORCED","reader":"east-gate","verify":"FACE"}}
 * @example facepass/{deviceId}/heartbeat
 * {"time":"20260101080000","rssi":-65}
 */
export default defineModel({
  id: 'facepass-fp3',
  vendor: 'FacePass',
  name: 'FP3 face-recognition terminal',
  family: 'access',
  format: 'json',
  topics: {
    telemetry: 'facepass/{deviceId}/heartbeat',
    event: 'facepass/{deviceId}/record',
    status: 'facepass/{deviceId}/lwt',
  },
  time: { path: 'time', format: 'local_compact' },
  fields: [metric('rssi_dbm', { path: 'rssi', unit: 'dBm' })],
  event: {
    path: 'event.type',
    map: {
      PASS: 'granted',
      REJECT: 'denied',
      OPEN: 'door_open',
      CLOSE: 'door_closed',
      FORCED: 'door_forced',
      HELD_OPEN: 'door_held',
      TAMPER: 'tamper',
    },
    door: 'event.reader',
    method: { path: 'event.verify', map: { CARD: 'card', FACE: 'face', QR: 'qr', PIN: 'pin' } },
  },
  reportingIntervalS: 60,
  description: 'String event types, named readers, own topic tree, China-time compact timestamps.',
});
