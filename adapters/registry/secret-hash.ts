import { createHmac, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Two ways a secret is kept at rest, told apart by the first field of the stored string:
 *
 * - `scrypt$N$r$p$salt$hash` (RFC 7914): for secrets a person chose (`mqtt.auth.users`, `gridgate
 *   tokens hash-secret`), and device secrets hashed without a server-side key. Deliberately slow
 *   (a costly N per check) so a stolen hash cannot be guessed at speed. Runs on libuv's thread
 *   pool, never blocking the event loop.
 * - `hmac$kid$salt$mac`: HMAC-SHA-256 (RFC 2104) of salt‖secret under a server-side key that is
 *   never stored in Redis (`kid` names that key). For the 24 random bytes gridgate issues to each
 *   device: with 192 bits of entropy there is nothing to guess, so the hash need not be slow; what a
 *   stolen Redis dump must not allow is checking candidate secrets offline, and without the key it
 *   cannot. A check is cheap, which is what lets a fleet reconnect at once.
 *
 * Both compare in constant time.
 */
export interface ScryptParams {
  /** CPU/memory cost, a power of two: fine per connect, costly per guess. */
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT: ScryptParams = { N: 16_384, r: 8, p: 1 };
const KEY_LEN = 32;
const SALT_LEN = 16;

/** The server-side key of keyed hashes, and its public id (a fingerprint, not the key). */
export interface SecretKey {
  readonly key: Buffer;
  readonly id: string;
}

/** What checking a stored hash costs: `slow` (scrypt) is what the verification budget bounds most. */
export type HashCost = 'fast' | 'slow';

/** A new random secret: 24 bytes, base64url (32 characters). */
export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Wraps raw key bytes; the id is an HMAC of a fixed label, so it names the key without revealing it. */
export function secretKey(key: Buffer): SecretKey {
  const id = createHmac('sha256', key).update('gridgate secret key id').digest().subarray(0, 6);
  return { key, id: id.toString('base64url') };
}

export async function hashSecret(secret: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const hash = await derive(secret, salt, KEY_LEN, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** The keyed (fast) form, for secrets gridgate generated; never for a secret a person chose. */
export function hashSecretKeyed(secret: string, key: SecretKey): string {
  const salt = randomBytes(SALT_LEN);
  return `hmac$${key.id}$${salt.toString('base64url')}$${mac(key.key, salt, secret).toString('base64url')}`;
}

/** `undefined` for a string neither form can parse. */
export function hashCost(stored: string): HashCost | undefined {
  if (stored.startsWith('hmac$')) return 'fast';
  if (stored.startsWith('scrypt$')) return 'slow';
  return undefined;
}

/** The key id a keyed hash was made under (undefined for any other form). */
export function hashKeyId(stored: string): string | undefined {
  const parts = stored.split('$');
  return parts.length === 4 && parts[0] === 'hmac' ? parts[1] : undefined;
}

/**
 * Constant-time comparison; false for a malformed stored string, and for a keyed hash when no key
 * or another key than the one it was made under is given.
 */
export async function verifySecret(secret: string, stored: string, key?: SecretKey): Promise<boolean> {
  const parts = stored.split('$');
  if (parts[0] === 'hmac') return verifyKeyed(secret, parts, key);
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length === 0) return false;
  const actual = await derive(secret, salt, expected.length, { N, r, p });
  return timingSafeEqual(actual, expected);
}

function verifyKeyed(secret: string, parts: string[], key: SecretKey | undefined): boolean {
  if (parts.length !== 4 || !key || parts[1] !== key.id) return false;
  const expected = Buffer.from(parts[3]!, 'base64url');
  if (expected.length !== 32) return false;
  return timingSafeEqual(mac(key.key, Buffer.from(parts[2]!, 'base64url'), secret), expected);
}

function mac(key: Buffer, salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', key).update(salt).update(secret, 'utf8').digest();
}

function derive(secret: string, salt: Buffer, len: number, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
