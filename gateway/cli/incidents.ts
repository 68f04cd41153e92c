/**
 * `gridgate incidents ack ID [--by NAME] [--note TEXT]`: acknowledges an incident through the running
 * gateway's HTTP API (POST /api/v1/incidents/{id}/ack, body {by, note}).
 */
import { userInfo } from 'node:os';
import { Command } from 'commander';

export interface AckRequest {
  url: string;
  token?: string;
  id: string;
  by: string;
  note?: string;
}

export interface AckResponse {
  status: number;
  body: unknown;
}

/** POST the ack; resolves with the HTTP status and parsed body (throws only when the gateway is unreachable). */
export async function postAck(req: AckRequest): Promise<AckResponse> {
  const url = `${req.url.replace(/\/+$/, '')}/api/v1/incidents/${encodeURIComponent(req.id)}/ack`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (req.token) headers.authorization = `Bearer ${req.token}`;
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ by: req.by, ...(req.note !== undefined ? { note: req.note } : {}) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's error page): keep the text for the message.
  }
  return { status: res.status, body };
}

function defaultUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}

export function incidentsCommand(): Command {
  const cmd = new Command('incidents').description('work with alert incidents on a running gateway');
  cmd
    .command('ack')
    .description('acknowledge an incident (stops its ack-overdue escalation)')
    .argument('<id>', 'incident id (incidentId of its alert events)')
    .option('--by <name>', 'who acknowledges (default: your user name)')
    .option('--note <text>', 'a note stored with the ack')
    .option('--url <url>', 'gateway HTTP API base URL', 'http://127.0.0.1:8080')
    .option('--token <token>', 'API bearer token (default: $GRIDGATE_TOKEN)')
    .action(async (id: string, o: { by?: string; note?: string; url: string; token?: string }) => {
      const token = o.token ?? process.env.GRIDGATE_TOKEN;
      let res: AckResponse;
      try {
        res = await postAck({
          url: o.url,
          id,
          by: o.by ?? defaultUser(),
          ...(token ? { token } : {}),
          ...(o.note !== undefined ? { note: o.note } : {}),
        });
      } catch (err) {
        console.error(
          `cannot reach the gateway at ${o.url}: ${(err as Error).message}. Is it running? Use --url.`,
        );
        process.exitCode = 1;
        return;
      }
      if (res.status >= 200 && res.status < 300) {
        console.log(`acknowledged ${id}`);
        return;
      }
      const detail =
        typeof res.body === 'object' && res.body !== null && 'message' in res.body
          ? String((res.body as { message: unknown }).message)
          : JSON.stringify(res.body);
      const hint =
        res.status === 401 || res.status === 403
          ? ' (pass --token or set GRIDGATE_TOKEN)'
          : res.status === 404
            ? ' (no such incident: list them with GET /api/v1/incidents)'
            : '';
      console.error(`ack of ${id} failed: HTTP ${res.status} ${detail}${hint}`);
      process.exitCode = 1;
    });
  return cmd;
}
