/** Helpers for the adapter tests: a real mosquitto_pub, a log capture, a deadline poll, the default router. */
import { execFile } from 'node:child_process';
import pino, { type Logger } from 'pino';
import type { RoutedTopic } from '../../adapters/mqtt/types.js';
import type { MessageKind } from '../../processors/types.js';

const KINDS: readonly MessageKind[] = ['telemetry', 'event', 'status'];

/** The default convention devices/{deviceId}/{telemetry|event|status}. */
export function defaultRoute(topic: string): RoutedTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== 'devices' || !parts[1]) return undefined;
  const kind = KINDS.find((k) => k === parts[2]);
  return kind ? { deviceId: parts[1], kind } : undefined;
}

export interface CapturedLogs {
  logger: Logger;
  entries: Array<Record<string, unknown> & { msg?: string; level: number }>;
}

export function captureLogs(): CapturedLogs {
  const entries: CapturedLogs['entries'] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        entries.push(JSON.parse(line) as CapturedLogs['entries'][number]);
      },
    },
  );
  return { logger, entries };
}

/** Run the real mosquitto_pub CLI (Debian's mosquitto-clients). */
export function mosquittoPub(
  port: number,
  topic: string,
  message: string,
  opts: { qos?: 0 | 1 | 2; clientId?: string } = {},
): Promise<void> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-t',
    topic,
    '-m',
    message,
    '-q',
    String(opts.qos ?? 1),
  ];
  if (opts.clientId) args.push('-i', opts.clientId);
  return new Promise((resolve, reject) => {
    execFile('mosquitto_pub', args, { timeout: 10_000 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`mosquitto_pub ${args.join(' ')} failed: ${err.message} ${stderr}`)) : resolve(),
    );
  });
}

/** Poll until `cond` holds or throw `what` after the deadline (a deadline, not a timing assertion). */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
