/**
 * `gridgate incidents list|ack`: the duty officer's view of incidents on a running gateway, through
 * its HTTP API (GET /api/v1/incidents, POST /api/v1/incidents/{id}/ack).
 */
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { SEVERITIES } from '../../processors/alerts/event.js';
import { type ApiOptions, apiFetch, apiOptions, apiRequest, failure, readBody } from './api-client.js';
import { table } from './output.js';

export interface AckRequest {
  /** The gateway; default GRIDGATE_URL, else http://127.0.0.1:8080. */
  url?: string;
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
  const body = { by: req.by, note: req.note };
  const res = await apiFetch(req, `/incidents/${encodeURIComponent(req.id)}/ack`, { body });
  return { status: res.status, body: await readBody(res) };
}

/** One row of GET /api/v1/incidents: the incident's current event plus its state. */
interface IncidentItem {
  incidentId: string;
  state: string;
  severity: string;
  rule: { id: string; name: string };
  device?: { id: string };
  deviceId?: string;
  startedAt: string;
  ackedBy?: string;
  flapping: boolean;
  summary?: { zh: string; en: string };
}

function defaultUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}

/** `options.print`: where output goes (tests capture it); default stdout. */
export function incidentsCommand(options: { print?: (line: string) => void } = {}): Command {
  const print = options.print ?? ((line: string) => console.log(line));
  const cmd = new Command('incidents').description(
    'list and acknowledge alert incidents on a running gateway',
  );
  apiOptions(
    cmd
      .command('list')
      .description('list open incidents (newest first); --all adds those resolved in the last 24 h')
      .option('--all', 'also resolved incidents')
      .option('--severity <list>', `only these severities, comma-separated (${SEVERITIES.join(', ')})`)
      .option('--rule <id>', 'only incidents of this rule')
      .option('--device <id>', 'only incidents of this device')
      .option('--limit <n>', 'at most this many', '500'),
  ).action(
    async (
      o: ApiOptions & { all?: boolean; severity?: string; rule?: string; device?: string; limit: string },
    ) => {
      const q = new URLSearchParams({ state: o.all ? 'all' : 'open', limit: o.limit });
      if (o.severity) q.set('severity', o.severity);
      if (o.rule) q.set('rule', o.rule);
      if (o.device) q.set('device', o.device);
      const res = await apiRequest<{ items: IncidentItem[] }>(o, `/incidents?${q}`);
      if (o.json) return print(JSON.stringify(res.items, null, 2));
      if (!res.items.length) return print(o.all ? 'no incidents' : 'no open incidents');
      const t = table(['incident', 'state', 'severity', 'rule', 'device', 'started', 'acked by']);
      for (const i of res.items) {
        t.push([
          i.incidentId,
          i.flapping ? `${i.state} (flapping)` : i.state,
          i.severity,
          i.rule.id,
          i.device?.id ?? i.deviceId ?? '-',
          i.startedAt.replace(/\.\d{3}Z$/, 'Z'),
          i.ackedBy ?? '-',
        ]);
      }
      print(t.toString());
    },
  );
  apiOptions(
    cmd
      .command('ack')
      .description('acknowledge an incident (stops its ack-overdue escalation)')
      .argument('<id>', 'incident id (see `gridgate incidents list`, or incidentId of its alert events)')
      .option('--by <name>', 'who acknowledges (default: your user name)')
      .option('--note <text>', 'a note stored with the ack'),
  ).action(async (id: string, o: ApiOptions & { by?: string; note?: string }) => {
    const res = await postAck({ ...o, id, by: o.by ?? defaultUser() });
    if (res.status >= 200 && res.status < 300) {
      return print(o.json ? JSON.stringify(res.body, null, 2) : `acknowledged ${id}`);
    }
    const hint =
      res.status === 401 || res.status === 403
        ? ' (pass --token or set GRIDGATE_TOKEN)'
        : res.status === 404
          ? ' (no such incident: see `gridgate incidents list --all`)'
          : '';
    console.error(`ack of ${id} failed: HTTP ${failure(res.status, res.body, hint)}`);
    process.exitCode = 1;
  });
  return cmd;
}
