import type { Command } from 'commander';
import { type ApiTarget, targetFrom } from './api-client.js';

export interface CommonOpts {
  url?: string;
  token?: string;
  json?: boolean;
}

/** Where a verb writes: output (`print`, what scripts read) and advice (`note`). */
export interface DevicesIo {
  print: (line: string) => void;
  note: (line: string) => void;
}

/** The options every verb takes. */
export function common(c: Command): Command {
  return c
    .option('--json', 'print JSON')
    .option('--url <url>', 'gateway HTTP API (default http://127.0.0.1:8080 or GRIDGATE_URL)')
    .option('--token <token>', 'API token (or GRIDGATE_TOKEN)');
}

export function target(o: CommonOpts): ApiTarget {
  return targetFrom(o);
}

export function printSecret(print: (s: string) => void, id: string, secret: string): void {
  print(`MQTT username: ${id}`);
  print(`MQTT password: ${secret}`);
  print('This secret is shown once and stored only as a hash. Configure the device now.');
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
