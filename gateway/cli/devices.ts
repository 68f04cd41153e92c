import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { DeviceRecord } from '../../config/device-schema.js';
import { assignmentsToPatch } from '../../processors/registry/patch.js';
import type { DeviceChange, ImportResult } from '../../processors/registry/types.js';
import type { DeviceSnapshot } from '../http/routes/devices.js';
import { writePrivateFile } from '../private-files.js';
import { type ApiTarget, apiRequest, targetFrom } from './api-client.js';
import { importSecrets } from './import-secrets.js';
import { table } from './table.js';

interface CommonOpts {
  url?: string;
  token?: string;
  json?: boolean;
}

export interface DevicesCommandOptions {
  /** Where output goes (tests capture it); default stdout. */
  print?: (line: string) => void;
  /** Where advice goes, kept out of the output scripts read; default stderr. */
  note?: (line: string) => void;
}

/**
 * `gridgate devices ...`: the installer's registry tool. Every verb calls the running gateway's
 * HTTP API (/api/v1/devices...), so the CLI and the API cannot disagree.
 */
export function devicesCommand(options: DevicesCommandOptions = {}): Command {
  const print = options.print ?? ((line: string) => console.log(line));
  const note = options.note ?? ((line: string) => console.error(line));
  const cmd = new Command('devices').description('register, import, inspect and retire devices');

  common(
    cmd
      .command('list')
      .description('list devices, filtered by location, family, model or state')
      .option('--district <name>')
      .option('--street <name>')
      .option('--community <name>')
      .option('--grid <name>')
      .option('--family <family>', 'flood, dust, air or access')
      .option('--model <id>')
      .option('--state <state>', 'commissioning, active, maintenance or retired'),
  ).action(async (o: CommonOpts & Record<string, string | undefined>) => {
    const q = new URLSearchParams();
    for (const k of ['district', 'street', 'community', 'grid', 'family', 'model', 'state']) {
      const v = o[k];
      if (typeof v === 'string') q.set(k, v);
    }
    const res = await apiRequest<{ count: number; devices: DeviceRecord[] }>(target(o), `/devices?${q}`);
    if (o.json) return print(JSON.stringify(res.devices, null, 2));
    const t = table(['id', 'model', 'family', 'district', 'street', 'community', 'grid', 'state']);
    for (const d of res.devices) {
      const l = d.location;
      t.push([d.id, d.model, d.family, l.district, l.street, l.community, l.grid, d.state]);
    }
    print(t.toString());
    print(`${res.count} device(s)`);
  });

  common(cmd.command('show <id>').description('show one device')).action(
    async (id: string, o: CommonOpts) => {
      const d = await apiRequest<DeviceRecord>(target(o), `/devices/${encodeURIComponent(id)}`);
      print(o.json ? JSON.stringify(d, null, 2) : toYaml(d, { aliasDuplicateObjects: false }).trimEnd());
    },
  );

  common(
    cmd
      .command('add <id> <model> [assignments...]')
      .description(
        'register a device; prints its MQTT secret once (e.g. add kf-fg-9 hydrotek-wl300 --district 鼓楼区 ... attrs.warning_level_m=2.5)',
      )
      .requiredOption('--district <name>')
      .requiredOption('--street <name>')
      .requiredOption('--community <name>')
      .requiredOption('--grid <name>')
      .option('--address <text>')
      .option('--lat <deg>', 'latitude', Number)
      .option('--lon <deg>', 'longitude', Number)
      .option('--state <state>', 'install state (default commissioning)'),
  ).action(async (id: string, model: string, assignments: string[], o: CommonOpts & AddOpts) => {
    const body = {
      ...assignmentsToPatch(assignments),
      id,
      model,
      location: { district: o.district, street: o.street, community: o.community, grid: o.grid },
      ...(o.address !== undefined ? { address: o.address } : {}),
      ...(o.lat !== undefined ? { lat: o.lat } : {}),
      ...(o.lon !== undefined ? { lon: o.lon } : {}),
      ...(o.state !== undefined ? { state: o.state } : {}),
    };
    const res = await apiRequest<{ device: DeviceRecord; secret?: string }>(target(o), '/devices', { body });
    if (o.json) return print(JSON.stringify(res, null, 2));
    print(`added ${res.device.id} (${res.device.model}, ${res.device.family}, ${res.device.state})`);
    if (res.secret) printSecret(print, res.device.id, res.secret);
  });

  common(
    cmd
      .command('set <id> <assignments...>')
      .description(
        'change fields: state=active attrs.warning_level_m=2.5 labels.owner=城管 location.grid=第2网格 (key= removes)',
      ),
  ).action(async (id: string, assignments: string[], o: CommonOpts) => {
    const d = await apiRequest<DeviceRecord>(target(o), `/devices/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      body: assignmentsToPatch(assignments),
    });
    print(o.json ? JSON.stringify(d, null, 2) : `updated ${d.id}`);
  });

  common(
    cmd
      .command('confirm <id>')
      .description(
        'the installer confirms a commissioned device works: state commissioning -> active (its alerts now dispatch)',
      ),
  ).action(async (id: string, o: CommonOpts) => {
    const path = `/devices/${encodeURIComponent(id)}`;
    const before = await apiRequest<DeviceRecord>(target(o), path);
    if (before.state !== 'commissioning') {
      throw new Error(
        `${id} is ${before.state}, not commissioning; use 'devices set ${id} state=...' to change it`,
      );
    }
    const d = await apiRequest<DeviceRecord>(target(o), path, { method: 'PATCH', body: { state: 'active' } });
    print(o.json ? JSON.stringify(d, null, 2) : `${d.id} is active: its alerts now go to the dispatch queue`);
  });

  common(
    cmd.command('retire <id>').description('retire a device (kept for history; its MQTT secret is revoked)'),
  ).action(async (id: string, o: CommonOpts) => {
    const d = await apiRequest<DeviceRecord>(target(o), `/devices/${encodeURIComponent(id)}/retire`, {
      method: 'POST',
    });
    print(o.json ? JSON.stringify(d, null, 2) : `retired ${d.id}`);
  });

  common(
    cmd
      .command('import <file>')
      .description(
        'import devices from .csv, .yaml/.yml or .json; every row is checked first, nothing is imported if any is bad',
      )
      .option(
        '--issue-secrets',
        'issue an MQTT secret to each device this import creates, and print them (shown once)',
      )
      .option(
        '--secrets-out <file>',
        'with --issue-secrets: write the secrets as CSV to a new FILE (mode 0600) instead of printing them',
      ),
  ).action(async (file: string, o: CommonOpts & { issueSecrets?: boolean; secretsOut?: string }) => {
    if (o.secretsOut !== undefined && !o.issueSecrets) {
      throw new Error('--secrets-out needs --issue-secrets');
    }
    const text = await readFile(file, 'utf8');
    const ext = extname(file).toLowerCase();
    const contentType =
      ext === '.csv'
        ? 'text/csv'
        : ext === '.yaml' || ext === '.yml'
          ? 'application/yaml'
          : 'application/json';
    const q = new URLSearchParams({ source: basename(file) });
    const doImport = () =>
      apiRequest<ImportResult & { rows: number }>(target(o), `/devices/import?${q}`, {
        method: 'POST',
        body: text,
        contentType,
      });
    const summary = (r: ImportResult & { rows: number }) =>
      `${r.rows} row(s): ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged`;
    if (!o.issueSecrets) {
      const res = await doImport();
      if (o.json) return print(JSON.stringify(res));
      print(summary(res));
      if (res.created > 0) {
        note(
          `the ${res.created} new device(s) have no MQTT secret yet: issue them with 'devices credentials ID --rotate', or import with --issue-secrets`,
        );
      }
      return;
    }
    const out = await importSecrets({
      target: target(o),
      text,
      ext,
      doImport,
      ...(o.secretsOut === undefined ? {} : { secretsOut: o.secretsOut }),
    });
    if (o.json) {
      return print(
        JSON.stringify({
          ...out.result,
          ...(o.secretsOut === undefined ? { secrets: out.secrets } : { secretsFile: o.secretsOut }),
          ...(out.failed.length > 0 ? { failed: out.failed } : {}),
        }),
      );
    }
    print(summary(out.result));
    if (out.secrets.length === 0) {
      print(
        'no device was created, so no secret was issued (existing devices keep theirs; replace one with devices credentials ID --rotate)',
      );
    } else if (o.secretsOut !== undefined) {
      print(`MQTT secrets of ${out.secrets.length} new device(s) written to ${o.secretsOut} (mode 0600)`);
    } else {
      print(
        `MQTT secrets of ${out.secrets.length} new device(s); the username is the device id. Shown once, stored only as a hash:`,
      );
      const width = Math.max(...out.secrets.map((s) => s.id.length));
      for (const s of out.secrets) print(`${s.id.padEnd(width)}  ${s.secret}`);
    }
    for (const f of out.failed) print(`no secret issued for ${f.id}: ${f.error}`);
    if (out.failed.length > 0) process.exitCode = 1;
  });

  common(
    cmd
      .command('export')
      .description('export every device (secrets left out) as YAML, CSV or JSON')
      .option('--format <format>', 'yaml, csv or json', 'yaml')
      .option('-o, --output <file>', 'write to a file instead of stdout'),
  ).action(async (o: CommonOpts & { format: string; output?: string }) => {
    const res = await apiRequest<unknown>(
      target(o),
      `/devices/export?format=${encodeURIComponent(o.format)}`,
    );
    const text = typeof res === 'string' ? res : JSON.stringify(res, null, 2);
    // A text file ends with a newline (POSIX "line"), whichever format the gateway sent.
    // An export holds the whole installation (addresses, locations, MNs): readable by its owner only.
    if (o.output) writePrivateFile(o.output, text.endsWith('\n') ? text : `${text}\n`);
    else print(text.trimEnd());
  });

  common(
    cmd
      .command('credentials <id>')
      .description(
        "issue a new MQTT secret for a device (shown once; the device's current secret, if any, stops working)",
      )
      .option('--rotate', 'required: makes the replacement explicit'),
  ).action(async (id: string, o: CommonOpts & { rotate?: boolean }) => {
    if (!o.rotate) {
      // The gateway keeps only a hash, so whether or not a secret was ever issued, none can be shown.
      throw new Error(
        `the gateway stores MQTT secrets only as a hash, so it cannot show one; pass --rotate to issue a new secret for ${id} (shown once; a secret it already has stops working)`,
      );
    }
    const res = await apiRequest<{ id: string; secret: string }>(
      target(o),
      `/devices/${encodeURIComponent(id)}/credentials/rotate`,
      { method: 'POST' },
    );
    if (o.json) return print(JSON.stringify(res));
    printSecret(print, res.id, res.secret);
  });

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

  return cmd;
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

interface AddOpts {
  district: string;
  street: string;
  community: string;
  grid: string;
  address?: string;
  lat?: number;
  lon?: number;
  state?: string;
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

function common(c: Command): Command {
  return c
    .option('--json', 'print JSON')
    .option('--url <url>', 'gateway HTTP API (default http://127.0.0.1:8080 or GRIDGATE_URL)')
    .option('--token <token>', 'API token (or GRIDGATE_TOKEN)');
}

function target(o: CommonOpts): ApiTarget {
  return targetFrom(o);
}

function printSecret(print: (s: string) => void, id: string, secret: string): void {
  print(`MQTT username: ${id}`);
  print(`MQTT password: ${secret}`);
  print('This secret is shown once and stored only as a hash. Configure the device now.');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
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
