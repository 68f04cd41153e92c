import type { Command } from 'commander';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import { assignmentsToPatch } from '../../processors/registry/patch.js';
import { type ApiOptions, apiOptions, apiRequest } from './api-client.js';
import { type DevicesIo, printSecret, rotateSecret } from './devices-common.js';

/** The verbs that change one device: `add`, `set`, `confirm`, `retire`. */
export function addChangeVerbs(cmd: Command, { print }: DevicesIo): void {
  apiOptions(
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
  ).action(async (id: string, model: string, assignments: string[], o: ApiOptions & AddOpts) => {
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
    const res = await apiRequest<{ device: DeviceRecord; secret?: string }>(o, '/devices', { body });
    if (o.json) return print(JSON.stringify(res, null, 2));
    print(`added ${res.device.id} (${res.device.model}, ${res.device.family}, ${res.device.state})`);
    if (res.secret) printSecret(print, res.device.id, res.secret);
  });

  apiOptions(
    cmd
      .command('set <id> <assignments...>')
      .description(
        'change fields: state=active attrs.warning_level_m=2.5 labels.owner=城管 location.grid=第2网格 (key= removes)',
      ),
  ).action(async (id: string, assignments: string[], o: ApiOptions) => {
    const d = await apiRequest<DeviceRecord>(o, `/devices/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      body: assignmentsToPatch(assignments),
    });
    print(o.json ? JSON.stringify(d, null, 2) : `updated ${d.id}`);
  });

  apiOptions(
    cmd
      .command('confirm <id>')
      .description(
        'the installer confirms a commissioned device works: state commissioning -> active (its alerts now dispatch)',
      ),
  ).action(async (id: string, o: ApiOptions) => {
    const path = `/devices/${encodeURIComponent(id)}`;
    const before = await apiRequest<DeviceRecord>(o, path);
    if (before.state !== 'commissioning') {
      throw new Error(
        `${id} is ${before.state}, not commissioning; use 'devices set ${id} state=...' to change it`,
      );
    }
    const d = await apiRequest<DeviceRecord>(o, path, { method: 'PATCH', body: { state: 'active' } });
    print(o.json ? JSON.stringify(d, null, 2) : `${d.id} is active: its alerts now go to the dispatch queue`);
  });

  apiOptions(
    cmd.command('retire <id>').description('retire a device (kept for history; its MQTT secret is revoked)'),
  ).action(async (id: string, o: ApiOptions) => {
    const d = await apiRequest<DeviceRecord>(o, `/devices/${encodeURIComponent(id)}/retire`, {
      method: 'POST',
    });
    print(o.json ? JSON.stringify(d, null, 2) : `retired ${d.id}`);
  });
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

/** `devices credentials <id> --rotate`: a new MQTT secret, shown once. */
export function addCredentialsVerb(cmd: Command, { print }: DevicesIo): void {
  apiOptions(
    cmd
      .command('credentials <id>')
      .description(
        "issue a new MQTT secret for a device (shown once; the device's current secret, if any, stops working)",
      )
      .option('--rotate', 'required: makes the replacement explicit'),
  ).action(async (id: string, o: ApiOptions & { rotate?: boolean }) => {
    if (!o.rotate) {
      // The gateway keeps only a hash, so whether or not a secret was ever issued, none can be shown.
      throw new Error(
        `the gateway stores MQTT secrets only as a hash, so it cannot show one; pass --rotate to issue a new secret for ${id} (shown once; a secret it already has stops working)`,
      );
    }
    const res = await rotateSecret(o, id);
    if (o.json) return print(JSON.stringify(res));
    printSecret(print, res.id, res.secret);
  });
}
