import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../gateway/node-flags.js';

const exec = promisify(execFile);

describe('the gridgate bin', () => {
  const shebang = readFileSync(new URL('../../gateway/cli/main.ts', import.meta.url), 'utf8').split('\n')[0];

  it('runs node with the flags the demo and the benchmarks use', () => {
    expect(shebang).toBe(`#!/usr/bin/env -S node ${GATEWAY_NODE_FLAGS.join(' ')}`);
  });

  it('has a shebang this system can run: env -S hands node its flags', async () => {
    const command = (shebang ?? '').slice(2).split(' ');
    const { stdout } = await exec(command[0] as string, [
      ...command.slice(1),
      '-e',
      'console.log(JSON.stringify(process.execArgv))',
    ]);
    expect((JSON.parse(stdout) as string[]).slice(0, GATEWAY_NODE_FLAGS.length)).toEqual(GATEWAY_NODE_FLAGS);
  });
});
