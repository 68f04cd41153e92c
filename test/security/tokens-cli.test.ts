import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { verifySecret } from '../../adapters/registry/secret-hash.js';
import { configSchema } from '../../config/schema.js';
import { tokenHash } from '../../gateway/http/auth.js';

/** Runs `gridgate tokens ...` (the real commander command) in a child process, with stdin. */
function tokens(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const script =
    "import { tokensCommand } from './gateway/cli/tokens.ts'; await tokensCommand().parseAsync(process.argv.slice(1), { from: 'user' });";
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

describe('gridgate tokens', () => {
  it('new: prints a token once and a config entry that holds only its SHA-256', async () => {
    const r = await tokens(['new', '--role', 'installer', '--name', 'site-team']);
    expect(r.code).toBe(0);
    const token = /^\s+(gg_[\w-]{43})$/m.exec(r.stdout)?.[1];
    expect(token).toBeDefined();
    const line = r.stdout.split('\n').find((l) => l.trim().startsWith('- {'));
    const cfg = configSchema.parse(parseYaml(`auth:\n  tokens:\n  ${line}\n`));
    expect(cfg.auth.tokens).toEqual([{ name: 'site-team', role: 'installer', sha256: tokenHash(token!) }]);
    expect(line).not.toContain(token!);
  });

  it('new: refuses an unknown role', async () => {
    const r = await tokens(['new', '--role', 'boss', '--name', 'x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('role must be one of');
  });

  it('hash-secret: reads stdin and prints an scrypt hash that verifies', async () => {
    const r = await tokens(['hash-secret'], 'dispatch-password\n');
    expect(r.code).toBe(0);
    const hash = r.stdout.trim();
    expect(await verifySecret('dispatch-password', hash)).toBe(true);
    expect(await verifySecret('dispatch-password\n', hash)).toBe(false);
  });
});
