import type { SmallLuma } from './picture.js';

/**
 * A camera's reference frame: the picture of its right scene (taken at commissioning, replaced by
 * an installer), against which displacement (scene_ssim) and blur (sharpness_ratio) are measured.
 */
export interface CameraReference extends SmallLuma {
  /** Edge energy of the full keyframe the reference was taken from (measures.ts sharpness). */
  sharpness: number;
  /** Epoch ms the keyframe was analysed. */
  at: number;
}

/** Where references persist across restarts (adapters/redis/camera-references.ts). */
export interface ReferenceStore {
  get(cameraId: string): Promise<CameraReference | undefined>;
  put(cameraId: string, ref: CameraReference): Promise<void>;
  delete(cameraId: string): Promise<void>;
}
