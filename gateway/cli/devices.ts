import { Command } from 'commander';
import { addChangeVerbs, addCredentialsVerb } from './devices-change.js';
import type { DevicesIo } from './devices-common.js';
import { addInspectVerbs } from './devices-inspect.js';
import { addReadVerbs } from './devices-read.js';
import { addTransferVerbs } from './devices-transfer.js';

/**
 * `gridgate devices ...`: the installer's registry tool. Every verb calls the running gateway's
 * HTTP API (/api/v1/devices...), so the CLI and the API cannot disagree. Output goes to stdout and
 * advice to stderr unless `options` says otherwise (tests capture both).
 */
export function devicesCommand(options: Partial<DevicesIo> = {}): Command {
  const io = {
    print: options.print ?? ((line: string) => console.log(line)),
    note: options.note ?? ((line: string) => console.error(line)),
  };
  const cmd = new Command('devices').description('register, import, inspect and retire devices');
  // Registered in the order `gridgate devices --help` lists them.
  addReadVerbs(cmd, io);
  addChangeVerbs(cmd, io);
  addTransferVerbs(cmd, io);
  addCredentialsVerb(cmd, io);
  addInspectVerbs(cmd, io);
  return cmd;
}
