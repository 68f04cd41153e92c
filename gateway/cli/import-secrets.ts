import { type FileHandle, open, unlink } from 'node:fs/promises';
import { parseDeviceCsv } from '../../processors/registry/csv.js';
import type { DeviceRecord } from '../../processors/registry/device-schema.js';
import type { ImportResult } from '../../processors/registry/types.js';
import { parseDeviceYaml } from '../../processors/registry/yaml.js';
import { type ApiOptions, apiRequest } from './api-client.js';
import { rotateSecret } from './devices-common.js';

export interface ImportSecretsInput {
  target: ApiOptions;
  /** The device file's text and extension (`.csv`, `.yaml`, `.yml`, `.json`). */
  text: string;
  ext: string;
  /** Sends the file to POST /devices/import. */
  doImport: () => Promise<ImportResult & { rows: number }>;
  /** A new file for the secrets (CSV, mode 0600); absent: the caller prints them. */
  secretsOut?: string;
}

export interface ImportSecretsOutput {
  result: ImportResult & { rows: number };
  secrets: { id: string; secret: string }[];
  /** Devices created whose secret could not be issued, with why. */
  failed: { id: string; error: string }[];
}

/**
 * `devices import --issue-secrets`: imports the file, then issues an MQTT secret to each device the
 * import created, through the same route as `devices credentials --rotate` (the gateway keeps only
 * the hash). Devices that already existed keep their secret. The secrets file is created before
 * anything is imported, with `wx` and mode 0600: a file that exists is refused rather than
 * overwritten (it may hold the secrets of an earlier import, or be a link placed for us), and a
 * file that cannot be written stops the import before any secret exists only in memory.
 */
export async function importSecrets(input: ImportSecretsInput): Promise<ImportSecretsOutput> {
  const fileIds = new Set(idsInFile(input.text, input.ext));
  let handle: FileHandle | undefined;
  if (input.secretsOut !== undefined) {
    try {
      handle = await open(input.secretsOut, 'wx', 0o600);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new Error(
        code === 'EEXIST'
          ? `${input.secretsOut} exists; name a new file (a secrets file is never overwritten)`
          : `cannot create ${input.secretsOut}: ${(err as Error).message}`,
      );
    }
  }
  try {
    const before = new Set((await listDevices(input.target)).map((d) => d.id));
    const result = await input.doImport();
    // Cameras do not log in over MQTT (the gateway pulls their RTSP stream): no secret for them.
    const cameras = new Set(
      (await listDevices(input.target)).filter((d) => d.family === 'camera').map((d) => d.id),
    );
    const created = [...fileIds].filter((id) => !before.has(id) && !cameras.has(id));
    const secrets: ImportSecretsOutput['secrets'] = [];
    const failed: ImportSecretsOutput['failed'] = [];
    for (const id of created) {
      try {
        secrets.push(await rotateSecret(input.target, id));
      } catch (err) {
        failed.push({ id, error: (err as Error).message });
      }
    }
    if (handle) {
      // umask may have cleared bits of 0600 but never adds any; chmod states the intent.
      await handle.chmod(0o600);
      await handle.writeFile(secretsCsv(secrets), 'utf8');
      await handle.close();
      handle = undefined;
    }
    return { result, secrets, failed };
  } catch (err) {
    if (handle && input.secretsOut !== undefined) {
      await handle.close().catch(() => undefined);
      await unlink(input.secretsOut).catch(() => undefined);
    }
    throw err;
  }
}

/** RFC 4180 CSV, one device a line; ids and secrets hold no comma, quote or newline. */
function secretsCsv(secrets: readonly { id: string; secret: string }[]): string {
  return `device_id,mqtt_username,mqtt_password\n${secrets.map((s) => `${s.id},${s.id},${s.secret}\n`).join('')}`;
}

async function listDevices(target: ApiOptions): Promise<DeviceRecord[]> {
  return (await apiRequest<{ devices: DeviceRecord[] }>(target, '/devices')).devices;
}

/** The device ids a file names, parsed as the gateway parses it (it validates them). */
function idsInFile(text: string, ext: string): string[] {
  let inputs: unknown[];
  if (ext === '.csv') inputs = parseDeviceCsv(text).rows.map((r) => r.input);
  else if (ext === '.yaml' || ext === '.yml') inputs = parseDeviceYaml(text).rows.map((r) => r.input);
  else {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return []; // the gateway says what is wrong with it
    }
    const list = Array.isArray(doc) ? doc : (doc as { devices?: unknown } | null)?.devices;
    inputs = Array.isArray(list) ? list : [];
  }
  return inputs.flatMap((i) => {
    const id = (i as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? [id] : [];
  });
}
