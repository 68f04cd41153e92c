import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import { type ApiOptions, apiOptions, apiRequest } from './api-client.js';
import type { DevicesIo } from './devices-common.js';
import { table } from './output.js';

/** `devices list` and `devices show`. */
export function addReadVerbs(cmd: Command, { print }: DevicesIo): void {
  apiOptions(
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
  ).action(async (o: ApiOptions & Record<string, string | undefined>) => {
    const q = new URLSearchParams();
    for (const k of ['district', 'street', 'community', 'grid', 'family', 'model', 'state']) {
      const v = o[k];
      if (typeof v === 'string') q.set(k, v);
    }
    const res = await apiRequest<{ count: number; devices: DeviceRecord[] }>(o, `/devices?${q}`);
    if (o.json) return print(JSON.stringify(res.devices, null, 2));
    const t = table(['id', 'model', 'family', 'district', 'street', 'community', 'grid', 'state']);
    for (const d of res.devices) {
      const l = d.location;
      t.push([d.id, d.model, d.family, l.district, l.street, l.community, l.grid, d.state]);
    }
    print(t.toString());
    print(`${res.count} device(s)`);
  });

  apiOptions(cmd.command('show <id>').description('show one device')).action(
    async (id: string, o: ApiOptions) => {
      const d = await apiRequest<DeviceRecord>(o, `/devices/${encodeURIComponent(id)}`);
      print(o.json ? JSON.stringify(d, null, 2) : toYaml(d, { aliasDuplicateObjects: false }).trimEnd());
    },
  );
}
