import { createWriteStream, type WriteStream } from 'node:fs';
import { withoutSecrets } from '../processors/registry/device-schema.js';
import type { Device, Reading, ReadingSink } from '../processors/types.js';
import { openPrivateFile } from './private-files.js';

/** Bytes the stream may buffer before readings are dropped from the capture. */
const HIGH_WATER_BYTES = 64 * 1024 * 1024;

/**
 * `gridgate start --capture FILE`: normalized readings with their device, one line each as `format`
 * writes it, the input of `gridgate rules test --replay FILE`. Lines are buffered by the stream; if the disk
 * cannot keep up, readings are dropped from the capture (counted), never from the pipeline.
 *
 * A capture is passed around (to a rules author, into a ticket), so it carries no secrets: the
 * device record it holds has its HJ 212 password and RTSP credentials left out (a replay needs
 * neither), and the file is created 0600.
 */
export class CaptureSink implements ReadingSink {
  private readonly out: WriteStream;
  /** Registry object -> its copy without secrets; the same copy each time, so formatters that skip an unchanged device still can. */
  private readonly safe = new WeakMap<Device, Device>();
  dropped = 0;
  written = 0;

  constructor(
    path: string,
    private readonly format: (reading: Reading, device: Device) => string,
  ) {
    this.out = createWriteStream(path, { fd: openPrivateFile(path, 'a') });
  }

  write(reading: Reading, device: Device): void {
    if (this.out.writableLength > HIGH_WATER_BYTES) {
      this.dropped++;
      return;
    }
    let safe = this.safe.get(device);
    if (!safe) {
      safe = captureDevice(device);
      this.safe.set(device, safe);
    }
    this.out.write(`${this.format(reading, safe)}\n`);
    this.written++;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

/** The device as a capture holds it: every secret left out (DEVICE_SECRET_PATHS), and the RTSP user name with the password. */
function captureDevice(device: Device): Device {
  const out = withoutSecrets(device);
  if (out.rtsp?.username === undefined) return out;
  const { username: _user, ...rtsp } = out.rtsp;
  return { ...out, rtsp };
}
