import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, writeFileSync } from 'node:fs';

/**
 * Files the gateway writes that may hold operational data (the capture, alert snapshots, device
 * exports, issued secrets) are readable by the gateway's own user only. The mode is set on the open
 * descriptor as well as at creation: `open(..., mode)` only applies to a new file, and an existing
 * one left 0644 must not stay world-readable.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Opens (creating if needed) for append or overwrite, mode 0600; returns the descriptor. */
export function openPrivateFile(path: string, flags: 'a' | 'w'): number {
  const fd = openSync(path, flags, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Writes a whole file, mode 0600 (an export, a secrets file). */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  const fd = openPrivateFile(path, 'w');
  try {
    writeFileSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** Creates the folder (and parents) if needed and makes the folder itself 0700. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}
