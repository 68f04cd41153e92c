import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { GridgateError } from '../../processors/errors.js';
import { DeviceIndex } from '../../processors/registry/device-index.js';
import type { KnownModels } from '../../processors/registry/device-schema.js';
import { formatProblems, validateRows } from '../../processors/registry/validate.js';
import { parseDeviceYaml } from '../../processors/registry/yaml.js';

export interface FileRegistryOptions {
  knownModels: KnownModels;
  logger?: Logger;
}

/**
 * The read-only registry of the foundation: devices from a YAML file (a list, or
 * `{ devices: [...] }`), validated all at once with line numbers, then served from memory.
 * The Redis registry replaces it in production; the file stays as an import format.
 */
export class FileRegistry extends DeviceIndex {
  readonly path: string;

  private constructor(path: string) {
    super();
    this.path = path;
  }

  static async load(path: string, opts: FileRegistryOptions): Promise<FileRegistry> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new GridgateError('GG_ERR_DEVICES_INVALID', `cannot read device file ${path}`, [], {
        cause: err,
      });
    }
    const reg = new FileRegistry(path);
    const devices = parseDeviceText(text, basename(path), opts.knownModels);
    reg.replaceAll(devices);
    opts.logger?.info({ path, devices: reg.size }, 'device file loaded');
    return reg;
  }
}

/** Parses and validates a whole YAML device document; throws one error listing every problem. */
export function parseDeviceText(text: string, source: string, knownModels: KnownModels) {
  const { rows, errors } = parseDeviceYaml(text);
  if (errors.length > 0) {
    throw new GridgateError(
      'GG_ERR_DEVICES_INVALID',
      `${source} is not valid YAML`,
      errors.map((e) => `${source}:${e.line}: ${e.message}`),
    );
  }
  const { devices, problems } = validateRows(rows, knownModels);
  if (problems.length > 0) {
    const details = formatProblems(problems, source);
    throw new GridgateError(
      'GG_ERR_DEVICES_INVALID',
      `${source}: ${problems.length} invalid device(s); fix them and reload:\n  ${details.join('\n  ')}`,
      details,
    );
  }
  return devices;
}
