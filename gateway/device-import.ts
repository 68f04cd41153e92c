import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { GridgateError } from '../processors/errors.js';
import { parseDeviceCsv } from '../processors/registry/csv.js';
import type { DeviceRegistry } from '../processors/registry/types.js';
import { parseDeviceYaml } from '../processors/registry/yaml.js';

/**
 * `devices.import`: a YAML or CSV device file imported into the registry at start. Every row is
 * validated first and nothing is imported if one is bad; importing the same file again changes
 * nothing, so it is safe on every start.
 */
export async function importDeviceFile(registry: DeviceRegistry, path: string, by: string) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new GridgateError(
      'GG_ERR_DEVICES_INVALID',
      `cannot read device file ${path}`,
      [(err as Error).message],
      {
        cause: err,
      },
    );
  }
  const source = basename(path);
  const parsed = extname(path).toLowerCase() === '.csv' ? parseDeviceCsv(text) : parseDeviceYaml(text);
  if (parsed.errors.length > 0) {
    throw new GridgateError(
      'GG_ERR_DEVICES_INVALID',
      `${source} could not be read; nothing was imported`,
      parsed.errors.map((e) => `${source}:${e.line}: ${e.message}`),
    );
  }
  return registry.importRows(parsed.rows, by, source);
}
