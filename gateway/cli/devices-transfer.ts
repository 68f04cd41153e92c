import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import type { ImportResult } from '../../processors/registry/types.js';
import { writePrivateFile } from '../private-files.js';
import { type ApiOptions, apiOptions, apiRequest } from './api-client.js';
import type { DevicesIo } from './devices-common.js';
import { importSecrets } from './import-secrets.js';

/** `devices import` (optionally issuing secrets) and `devices export`. */
export function addTransferVerbs(cmd: Command, { print, note }: DevicesIo): void {
  apiOptions(
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
  ).action(async (file: string, o: ApiOptions & { issueSecrets?: boolean; secretsOut?: string }) => {
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
      apiRequest<ImportResult & { rows: number }>(o, `/devices/import?${q}`, { body: text, contentType });
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
    const out = await importSecrets({ target: o, text, ext, doImport, secretsOut: o.secretsOut });
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

  apiOptions(
    cmd
      .command('export')
      .description('export every device (secrets left out) as YAML, CSV or JSON')
      .option('--format <format>', 'yaml, csv or json', 'yaml')
      .option('-o, --output <file>', 'write to a file instead of stdout'),
  ).action(async (o: ApiOptions & { format: string; output?: string }) => {
    const res = await apiRequest<unknown>(o, `/devices/export?format=${encodeURIComponent(o.format)}`);
    const text = typeof res === 'string' ? res : JSON.stringify(res, null, 2);
    // A text file ends with a newline (POSIX "line"), whichever format the gateway sent.
    // An export holds the whole installation (addresses, locations, MNs): readable by its owner only.
    if (o.output) writePrivateFile(o.output, text.endsWith('\n') ? text : `${text}\n`);
    else print(text.trimEnd());
  });
}
