import type { Redis } from 'ioredis';
import type { CameraReference, ReferenceStore } from '../../processors/camera/reference.js';

/**
 * Camera reference frames in Redis, one hash per camera at `${prefix}camera:ref:<id>`: the
 * downsampled luma as raw bytes (160×90 = 14.4 kB) plus its size, sharpness and time, so the
 * scene measures survive a gateway restart.
 */
export class RedisReferenceStore implements ReferenceStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    opts: { prefix?: string } = {},
  ) {
    this.prefix = `${opts.prefix ?? 'gridgate:'}camera:ref:`;
  }

  async get(cameraId: string): Promise<CameraReference | undefined> {
    const h = await this.redis.hgetallBuffer(this.prefix + cameraId);
    const width = Number(h.width?.toString());
    const height = Number(h.height?.toString());
    const y = h.y;
    // A hash that is partial or does not match its stated size is no reference.
    if (!y || !Number.isInteger(width) || !Number.isInteger(height) || y.length !== width * height)
      return undefined;
    return {
      width,
      height,
      y: new Uint8Array(y),
      sharpness: Number(h.sharpness?.toString() ?? 0),
      at: Number(h.at?.toString() ?? 0),
    };
  }

  async put(cameraId: string, ref: CameraReference): Promise<void> {
    const key = this.prefix + cameraId;
    await this.redis
      .multi()
      .del(key)
      .hset(key, {
        width: String(ref.width),
        height: String(ref.height),
        y: Buffer.from(ref.y.buffer, ref.y.byteOffset, ref.y.byteLength),
        sharpness: String(ref.sharpness),
        at: String(ref.at),
      })
      .exec();
  }

  async delete(cameraId: string): Promise<void> {
    await this.redis.del(this.prefix + cameraId);
  }
}
