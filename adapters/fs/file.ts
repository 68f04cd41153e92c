/**
 * File calls for code that runs in a worker thread (the tsdb spool, the broker's descriptor count).
 *
 * Node aborts the whole process when a worker is terminated while it starts an `fs/promises` call:
 * the call's promise cannot be made once termination is pending, and the native side then fails an
 * assertion (nodejs/node#42829). The callback API makes its request object in JavaScript before
 * the native call, so a thread terminated there just stops. Threads are terminated when they hang
 * at a stop and when one dies, so their file calls go through here.
 *
 * `File` has the methods of `FileHandle` the spool uses, on a plain descriptor.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';

export const mkdir = promisify(fs.mkdir);
export const chmod = promisify(fs.chmod);
export const rm = promisify(fs.rm);
export const readdir = promisify(fs.readdir);

const open = promisify(fs.open);
const read = promisify(fs.read);
const write = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
const fchmod = promisify(fs.fchmod);
const fstat = promisify(fs.fstat);
const ftruncate = promisify(fs.ftruncate);
const close = promisify(fs.close);

export class File {
  constructor(readonly fd: number) {}

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return read(this.fd, buffer, offset, length, position);
  }

  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }> {
    return write(this.fd, buffer, offset, length, position);
  }

  datasync(): Promise<void> {
    return fdatasync(this.fd);
  }

  chmod(mode: number): Promise<void> {
    return fchmod(this.fd, mode);
  }

  stat(): Promise<fs.Stats> {
    return fstat(this.fd);
  }

  truncate(length: number): Promise<void> {
    return ftruncate(this.fd, length);
  }

  close(): Promise<void> {
    return close(this.fd);
  }
}

export async function openFile(path: string, flags: string, mode: number): Promise<File> {
  return new File(await open(path, flags, mode));
}
