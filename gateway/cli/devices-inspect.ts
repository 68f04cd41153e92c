import type { Command } from 'commander';
import type { DeviceChange } from '../../processors/registry/types.js';
import type { DeviceSnapshot } from '../http/routes/devices.js';
import { apiRequest } from './api-client.js';
import { type CommonOpts, common, type DevicesIo, iso, target } from './devices-common.js';
import { table } from './table.js';

/** What the registry and the gateway know of devices: `unknown`, `audit`, `watch`. */
export function addInspectVerbs(cmd: Command, { print }: DevicesIo): void {
  common(
    cmd
      .command('unknown')
      .description('unregistered devices that tried to connect or send, most recent first')
      .option('-n, --limit <n>', 'how many', '100'),
  ).action(async (o: CommonOpts & { limit: string }) => {
    const res = await apiRequest<{ unknown: UnknownRow[] }>(target(o), `/devices/unknown?limit=${o.limit}`);
    if (o.json) return print(JSON.stringify(res.unknown, null, 2));
    const t = table(['transport', 'client id / MN', 'topic', 'remote', 'first seen', 'last seen', 'count']);
    for (const u of res.unknown) {
      t.push([u.transport, u.id, u.topic ?? '', u.remote ?? '', iso(u.firstSeen), iso(u.lastSeen), u.count]);
    }
    print(t.toString());
  });

  common(
    cmd
      .command('audit <id>')
      .description('who changed a device, when, and what')
      .option('-n, --limit <n>', 'how many', '20'),
  ).action(async (id: string, o: CommonOpts & { limit: string }) => {
    const res = await apiRequest<{ audit: DeviceChange[] }>(
      target(o),
      `/devices/${encodeURIComponent(id)}/audit?limit=${o.limit}`,
    );
    if (o.json) return print(JSON.stringify(res.audit, null, 2));
    for (const e of res.audit) print(`${e.at}  ${e.action.padEnd(7)} by ${e.by}${changedKeys(e)}`);
  });

  common(
    cmd
      .command('watch <id>')
      .description('on-site view: connected, last seen, last readings, commissioning checks (Ctrl-C stops)')
      .option('--once', 'print one snapshot and exit'),
  ).action(async (id: string, o: CommonOpts & { once?: boolean }) => {
    const t = target(o);
    const path = `/devices/${encodeURIComponent(id)}`;
    if (o.once) {
      const s = await apiRequest<DeviceSnapshot>(t, `${path}/status`);
      return print(o.json ? JSON.stringify(s) : renderSnapshot(s));
    }
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (t.token) headers.authorization = `Bearer ${t.token}`;
    const res = await fetch(`${t.url.replace(/\/$/, '')}/api/v1${path}/watch`, { headers });
    if (!res.ok || !res.body) throw new Error(`${res.status} ${await res.text()}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buf.indexOf('\n\n');
      while (end >= 0) {
        const data = buf
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        buf = buf.slice(end + 2);
        if (data) {
          const s = JSON.parse(data) as DeviceSnapshot;
          print(o.json ? data : `\n${renderSnapshot(s)}`);
        }
        end = buf.indexOf('\n\n');
      }
    }
  });
}

function renderSnapshot(s: DeviceSnapshot): string {
  const d = s.device;
  const lines = [
    `${d.id}  ${d.model} (${d.family})  state ${d.state}  ${d.location.district} ${d.location.street} ${d.location.community} ${d.location.grid}`,
    `connected: ${s.connected === null ? 'unknown' : s.connected ? 'yes' : 'no'}   last seen: ${s.lastSeen === null ? 'never' : iso(s.lastSeen)}`,
  ];
  const values = Object.entries(s.values);
  if (values.length > 0) {
    const t = table(['metric', 'value', 'measured at']);
    for (const [m, v] of values) t.push([m, v.value, iso(v.time)]);
    lines.push(t.toString());
  }
  if (s.lastEvent)
    lines.push(
      `last event: ${s.lastEvent.event}${s.lastEvent.door ? ` door ${s.lastEvent.door}` : ''} at ${iso(s.lastEvent.time)}`,
    );
  const mark = { pass: 'PASS', fail: 'FAIL', pending: '....' } as const;
  for (const c of s.checks) lines.push(`  [${mark[c.status]}] ${c.name.padEnd(18)} ${c.detail}`);
  return lines.join('\n');
}

interface UnknownRow {
  transport: string;
  id: string;
  topic?: string;
  remote?: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
}

/** ` (state, attrs)`: the top-level keys that differ between before and after. */
function changedKeys(e: DeviceChange): string {
  if (!e.before || !e.after) return '';
  const b = e.before as unknown as Record<string, unknown>;
  const a = e.after as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter(
    (k) => !k.startsWith('updated') && JSON.stringify(b[k]) !== JSON.stringify(a[k]),
  );
  return keys.length > 0 ? ` (${keys.join(', ')})` : '';
}
