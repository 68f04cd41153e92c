import { createWriteStream, type WriteStream } from 'node:fs';
import { withoutSecrets } from '../processors/registry/device-schema.js';
import type { Device, Reading, ReadingSink } from '../processors/types.js';
import { openPrivateFile } from './private-files.js';

/**
 * `gridgate start --capture FILE`: normalized readings as NDJSON, one `{reading, device}` per line,
 * the input of `gridgate rules test --replay FILE`. Lines are buffered by the stream; if the disk
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
    private readonly format: (reading: Reading, device: Device) => string = (reading, device) =>
      JSON.stringify({ reading, device }),
    private readonly highWaterBytes = 64 * 1024 * 1024,
  ) {
    this.out = createWriteStream(path, { fd: openPrivateFile(path, 'a') });
  }

  write(reading: Reading, device: Device): void {
    if (this.out.writableLength > this.highWaterBytes) {
      this.dropped++;
      return;
    }
    this.out.write(`${this.format(reading, this.withoutSecrets(device))}\n`);
    this.written++;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }

  private withoutSecrets(device: Device): Device {
    let copy = this.safe.get(device);
    if (!copy) {
      copy = captureDevice(device);
      this.safe.set(device, copy);
    }
    return copy;
  }
}

/** The device as a capture holds it: every secret left out (DEVICE_SECRET_PATHS), and the RTSP user name with the password. */
export function captureDevice(device: Device): Device {
  const out = withoutSecrets(device);
  if (out.rtsp?.username === undefined) return out;
  const { username: _user, ...rtsp } = out.rtsp;
  return { ...out, rtsp };
}
