import { createWriteStream, type WriteStream } from 'node:fs';
import type { Device, Reading, ReadingSink } from '../processors/types.js';

/**
 * `gridgate start --capture FILE`: normalized readings as NDJSON, one `{reading, device}` per line,
 * the input of `gridgate rules test --replay FILE`. Lines are buffered by the stream; if the disk
 * cannot keep up, readings are dropped from the capture (counted), never from the pipeline.
 */
export class CaptureSink implements ReadingSink {
  private readonly out: WriteStream;
  dropped = 0;
  written = 0;

  constructor(
    path: string,
    private readonly format: (reading: Reading, device: Device) => string = (reading, device) =>
      JSON.stringify({ reading, device }),
    private readonly highWaterBytes = 64 * 1024 * 1024,
  ) {
    this.out = createWriteStream(path, { flags: 'a' });
  }

  write(reading: Reading, device: Device): void {
    if (this.out.writableLength > this.highWaterBytes) {
      this.dropped++;
      return;
    }
    this.out.write(`${this.format(reading, device)}\n`);
    this.written++;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}
