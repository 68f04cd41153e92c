import { castLevel, flatPct, lumaStats, motionPct, sharpness } from './measures.js';
import { chromaMeans, downsampleLuma, type SmallLuma, type YuvFrame } from './picture.js';
import type { CameraReference } from './reference.js';
import { ssim } from './ssim.js';

/** The picture fields of one analysed keyframe, named as in the `camera` measurement. */
export interface PictureFields {
  luma_avg: number;
  luma_std: number;
  flat_pct: number;
  cast_level: number;
  /** Absent on the first keyframe of a run (nothing to compare with). */
  motion_pct?: number;
  /** Absent until the camera has a reference frame of the same size. */
  sharpness_ratio?: number;
  scene_ssim?: number;
}

export interface KeyframeAnalysis {
  small: SmallLuma;
  sharpness: number;
  fields: PictureFields;
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Measures one keyframe against the previous analysed keyframe and the reference, if any. */
export function analyseKeyframe(frame: YuvFrame, prev?: SmallLuma, ref?: CameraReference): KeyframeAnalysis {
  const small = downsampleLuma(frame);
  const stats = lumaStats(small);
  const chroma = chromaMeans(frame);
  const sharp = sharpness(frame);
  const fields: PictureFields = {
    luma_avg: round(stats.avg, 1),
    luma_std: round(stats.std, 2),
    flat_pct: round(flatPct(small), 1),
    cast_level: round(castLevel(chroma.u, chroma.v), 2),
  };
  if (prev) fields.motion_pct = round(motionPct(small, prev), 2);
  if (ref && ref.width === small.width && ref.height === small.height) {
    fields.sharpness_ratio = round(ref.sharpness > 0 ? sharp / ref.sharpness : 0, 3);
    fields.scene_ssim = round(ssim(small, ref), 3);
  }
  return { small, sharpness: sharp, fields };
}

/**
 * Whether a keyframe may become the reference automatically: it must show a scene (not black,
 * blown out, covered or textureless), or every later comparison would be against a fault.
 */
export function isGoodReference(f: PictureFields): boolean {
  return f.luma_avg >= 40 && f.luma_avg <= 215 && f.luma_std >= 15 && f.flat_pct <= 90;
}

export function referenceFrom(a: KeyframeAnalysis, at: number): CameraReference {
  return { width: a.small.width, height: a.small.height, y: a.small.y, sharpness: a.sharpness, at };
}
