import type { SmallLuma, YuvFrame } from './picture.js';

/**
 * The picture measures of the `camera` measurement (docs: notes CAMERA-CONTRACT.md), each a pure
 * function of a decoded keyframe or its downsampled luma. Costs are linear in pixels, and the
 * large-image ones (sharpness) sample rows, so a keyframe costs well under a millisecond.
 */

/** A luma difference larger than this (of 255) is a change, not coding or sensor noise. */
export const MOTION_NOISE_LEVEL = 10;
/** Side of the square blocks that flat_pct classifies, on the downsampled image. */
export const FLAT_BLOCK = 8;
/** A block whose luma standard deviation is below this (levels) has no texture. */
export const FLAT_STD = 2;

export function lumaStats(img: SmallLuma): { avg: number; std: number } {
  const y = img.y;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < y.length; i++) {
    const p = y[i] as number;
    s += p;
    s2 += p * p;
  }
  const n = y.length || 1;
  const avg = s / n;
  return { avg, std: Math.sqrt(Math.max(0, s2 / n - avg * avg)) };
}

/** % of pixels whose luma changed by more than `noise` levels (a frozen picture gives ≈ 0). */
export function motionPct(cur: SmallLuma, prev: SmallLuma, noise = MOTION_NOISE_LEVEL): number {
  if (cur.width !== prev.width || cur.height !== prev.height) return 100;
  let changed = 0;
  for (let i = 0; i < cur.y.length; i++) {
    if (Math.abs((cur.y[i] as number) - (prev.y[i] as number)) > noise) changed++;
  }
  return (100 * changed) / (cur.y.length || 1);
}

/** % of FLAT_BLOCK×FLAT_BLOCK blocks with (almost) no texture: a covered or sprayed lens is ≈ 100. */
export function flatPct(img: SmallLuma, block = FLAT_BLOCK, maxStd = FLAT_STD): number {
  const bw = Math.floor(img.width / block);
  const bh = Math.floor(img.height / block);
  if (bw === 0 || bh === 0) return 0;
  const maxVar = maxStd * maxStd;
  const n = block * block;
  let flat = 0;
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      let s = 0;
      let s2 = 0;
      for (let r = 0; r < block; r++) {
        const base = (by * block + r) * img.width + bx * block;
        for (let c = 0; c < block; c++) {
          const p = img.y[base + c] as number;
          s += p;
          s2 += p * p;
        }
      }
      const mean = s / n;
      if (s2 / n - mean * mean < maxVar) flat++;
    }
  }
  return (100 * flat) / (bw * bh);
}

/**
 * Edge energy: mean squared horizontal + vertical luma gradient over every other row of the full
 * decoded keyframe. Squared, not absolute: blurring a step edge over k pixels keeps the sum of
 * |gradient| (total variation) but divides the sum of squares by k, so energy falls with blur.
 * Only meaningful as a ratio to the same camera's reference (it depends on the scene).
 */
export function sharpness(frame: YuvFrame): number {
  const { width: w, height: h, data } = frame;
  let e = 0;
  let n = 0;
  for (let r = 0; r + 1 < h; r += 2) {
    const base = r * w;
    for (let c = 0; c + 1 < w; c++) {
      const p = data[base + c] as number;
      const dx = (data[base + c + 1] as number) - p;
      const dy = (data[base + w + c] as number) - p;
      e += dx * dx + dy * dy;
      n++;
    }
  }
  return n === 0 ? 0 : e / n;
}

/** Chroma offset from neutral grey (U = V = 128) of the picture's mean colour. */
export function castLevel(uMean: number, vMean: number): number {
  return Math.hypot(uMean - 128, vMean - 128);
}
