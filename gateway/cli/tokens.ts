import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { Command, InvalidArgumentError } from 'commander';
import { hashSecret } from '../../adapters/registry/secret-hash.js';
import { GridgateError } from '../../processors/errors.js';
import { ROLES, type Role, tokenHash } from '../http/auth.js';

/**
 * `gridgate tokens`: credentials for the gateway's own config. `new` makes an HTTP API token and
 * prints it once with the `auth.tokens` entry holding only its SHA-256; `hash-secret` turns a
 * password read from stdin into the scrypt string `mqtt.auth.users[].scrypt` holds. Neither keeps
 * anything: what is printed is the only copy of the token. A password a person chose needs the
 * slow hash (scrypt); device secrets, which gridgate generates, are kept as a keyed hash instead
 * (adapters/registry/secret-hash.ts), so this command is not for them.
 */
export function tokensCommand(): Command {
  const cmd = new Command('tokens').description('make HTTP API tokens and MQTT user password hashes');

  cmd
    .command('new')
    .description('print a new random API token once, and the auth.tokens config entry with its SHA-256')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, parseRole)
    .requiredOption('--name <name>', 'who holds it (shown in the audit log)')
    .option('--json', 'print JSON')
    .action((opts: { role: Role; name: string; json?: boolean }) => {
      // 32 random bytes: 256 bits, so a plain (unsalted) SHA-256 at rest is enough.
      const token = `gg_${randomBytes(32).toString('base64url')}`;
      const entry = { name: opts.name, role: opts.role, sha256: tokenHash(token) };
      if (opts.json) return console.log(JSON.stringify({ token, config: entry }, null, 2));
      console.log(`token (shown once; the gateway keeps only its hash):\n  ${token}\n`);
      console.log('add to the config file under auth.tokens:');
      console.log(
        `  - { name: ${JSON.stringify(entry.name)}, role: ${entry.role}, sha256: ${entry.sha256} }`,
      );
    });

  cmd
    .command('hash-secret')
    .description('read a password from stdin and print its scrypt hash for mqtt.auth.users[].scrypt')
    .action(async () => {
      const secret = (await text(process.stdin)).replace(/\r?\n$/, '');
      if (secret.length === 0) {
        throw new GridgateError('GG_ERR_BAD_REQUEST', 'no secret on stdin', [
          'e.g. printf \'%s\' "$PASSWORD" | gridgate tokens hash-secret',
        ]);
      }
      console.log(await hashSecret(secret));
    });

  return cmd;
}

function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`role must be one of ${ROLES.join(', ')}`);
  }
  return value as Role;
}
