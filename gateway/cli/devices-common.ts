import { type ApiOptions, apiRequest } from './api-client.js';

/** Where a verb writes: output (`print`, what scripts read) and advice (`note`, kept out of it). */
export interface DevicesIo {
  print: (line: string) => void;
  note: (line: string) => void;
}

/** POST /devices/:id/credentials/rotate: a new MQTT secret for the device; its old one stops working. */
export function rotateSecret(o: ApiOptions, id: string): Promise<{ id: string; secret: string }> {
  return apiRequest(o, `/devices/${encodeURIComponent(id)}/credentials/rotate`, { method: 'POST' });
}

export function printSecret(print: (s: string) => void, id: string, secret: string): void {
  print(`MQTT username: ${id}`);
  print(`MQTT password: ${secret}`);
  print('This secret is shown once and stored only as a hash. Configure the device now.');
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
