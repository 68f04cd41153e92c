import type { Command } from 'commander';
import type { UnknownDevice } from '../../adapters/registry/unknown-devices.js';
import type { DeviceChange } from '../../processors/registry/types.js';
import type { DeviceSnapshot } from '../http/routes/devices.js';
import { type ApiOptions, apiFetch, apiOptions, apiRequest, failure, readBody } from './api-client.js';
import { type DevicesIo, iso } from './devices-common.js';
import { table } from './output.js';

/** What the registry and the gateway know of devices: `unknown`, `audit`, `watch`. */
export function addInspectVerbs(cmd: Command, { print }: DevicesIo): void {
  apiOptions(
    cmd
      .command('unknown')
      .description('unregistered devices that tried to connect or send, most recent first')
      .option('-n, --limit <n>', 'how many', '100'),
  ).action(async (o: ApiOptions & { limit: string }) => {
    const res = await apiRequest<{ unknown: UnknownDevice[] }>(o, `/devices/unknown?limit=${o.limit}`);
    if (o.json) return print(JSON.stringify(res.unknown, null, 2));
    const t = table(['transport', 'client id / MN', 'topic', 'remote', 'first seen', 'last seen', 'count']);
    for (const u of res.unknown) {
      t.push([u.transport, u.id, u.topic ?? '', u.remote ?? '', iso(u.firstSeen), iso(u.lastSeen), u.count]);
    }
    print(t.toString());
  });

  apiOptions(
    cmd
      .command('audit <id>')
      .description('who changed a device, when, and what')
      .option('-n, --limit <n>', 'how many', '20'),
  ).action(async (id: string, o: ApiOptions & { limit: string }) => {
    const res = await apiRequest<{ audit: DeviceChange[] }>(
      o,
      `/devices/${encodeURIComponent(id)}/audit?limit=${o.limit}`,
    );
    if (o.json) return print(JSON.stringify(res.audit, null, 2));
    for (const e of res.audit) print(`${e.at}  ${e.action.padEnd(7)} by ${e.by}${changedKeys(e)}`);
  });

  apiOptions(
    cmd
      .command('watch <id>')
      .description('on-site view: connected, last seen, last readings, commissioning checks (Ctrl-C stops)')
      .option('--once', 'print one snapshot and exit'),
  ).action(async (id: string, o: ApiOptions & { once?: boolean }) => {
    const path = `/devices/${encodeURIComponent(id)}`;
    if (o.once) {
      const s = await apiRequest<DeviceSnapshot>(o, `${path}/status`);
      return print(o.json ? JSON.stringify(s) : renderSnapshot(s));
    }
    const res = await apiFetch(o, `${path}/watch`, { accept: 'text/event-stream' });
    if (!res.ok || !res.body) throw new Error(failure(res.status, await readBody(res)));
    // Each event: `event: status` (or `gone`: the device was deleted), one `data:` line (the
    // gateway sends compact JSON), a blank line.
    let buf = '';
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      const events = (buf + chunk).split('\n\n');
      buf = events.pop() ?? '';
      for (const e of events) {
        const data = /^data: (.*)$/m.exec(e)?.[1];
        if (!data) continue;
        if (/^event: gone$/m.test(e)) throw new Error((JSON.parse(data) as { message: string }).message);
        print(o.json ? data : `\n${renderSnapshot(JSON.parse(data) as DeviceSnapshot)}`);
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
