/**
 * Device-secret checks per second: the scrypt form (N=2^14, what device secrets used to be stored
 * as, and what human passwords still are) against the keyed HMAC-SHA-256 form. Hashing only, no
 * Redis or network; scrypt runs on libuv's thread pool, as on a connect. Prints a table; asserts
 * nothing.
 *
 *   npx tsx bench/secret-verify.ts [--seconds S]
 */
import { randomBytes } from 'node:crypto';
import Table from 'cli-table3';
import {
  generateSecret,
  hashSecret,
  hashSecretKeyed,
  secretKey,
  verifySecret,
} from '../adapters/registry/secret-hash.js';

const arg = process.argv.indexOf('--seconds');
const seconds = arg > 0 ? Number(process.argv[arg + 1]) : 3;
// As many checks in flight as libuv has threads: scrypt's best case on this machine.
const inFlight = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

async function rate(stored: string, secret: string, key?: ReturnType<typeof secretKey>): Promise<number> {
  let done = 0;
  const until = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < until) {
      if (!(await verifySecret(secret, stored, key))) throw new Error('a right secret was refused');
      done++;
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const secret = generateSecret();
const key = secretKey(randomBytes(32));
const scrypt = await rate(await hashSecret(secret), secret);
const keyed = await rate(hashSecretKeyed(secret, key), secret, key);
const table = new Table({ head: ['stored form', 'checks/s', 'vs scrypt'] });
table.push(['scrypt N=16384 r=8 p=1', scrypt.toFixed(1), '1×']);
table.push(['hmac-sha256 (keyed)', keyed.toFixed(0), `${Math.round(keyed / scrypt)}×`]);
console.log(table.toString());
console.log(JSON.stringify({ seconds, inFlight, scryptPerS: scrypt, keyedPerS: keyed }));
