import type { SmallLuma } from './picture.js';

/**
 * Mean structural similarity (SSIM) of two luma images, after Wang, Bovik, Sheikh & Simoncelli,
 * "Image quality assessment: from error visibility to structural similarity", IEEE TIP 13(4), 2004:
 * SSIM = ((2·μx·μy + C1)(2·σxy + C2)) / ((μx² + μy² + C1)(σx² + σy² + C2)), C1 = (0.01·255)²,
 * C2 = (0.03·255)², computed on square windows (uniform weights, as the paper's 8×8 variant) that
 * overlap by half, and averaged. 1 = same picture; a camera turned to another scene falls well below.
 */
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

export function ssim(a: SmallLuma, b: SmallLuma, win = 8): number {
  if (a.width !== b.width || a.height !== b.height) return 0;
  const { width: w, height: h } = a;
  const step = Math.max(1, win >> 1);
  const n = win * win;
  let total = 0;
  let windows = 0;
  for (let y0 = 0; y0 + win <= h; y0 += step) {
    for (let x0 = 0; x0 + win <= w; x0 += step) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let r = 0; r < win; r++) {
        const base = (y0 + r) * w + x0;
        for (let c = 0; c < win; c++) {
          const pa = a.y[base + c] as number;
          const pb = b.y[base + c] as number;
          sa += pa;
          sb += pb;
          saa += pa * pa;
          sbb += pb * pb;
          sab += pa * pb;
        }
      }
      const ma = sa / n;
      const mb = sb / n;
      const va = saa / n - ma * ma;
      const vb = sbb / n - mb * mb;
      const cov = sab / n - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      windows++;
    }
  }
  return windows === 0 ? 0 : total / windows;
}
